"""The reconciliation's pages as people use them: the province opens the year, a regency explains its
flags, the Forum reviews, the head refuses without a decree and then determines; the figures page,
its downloads and the auditor's trail."""

from __future__ import annotations

from sqlalchemy import select

from models import FlagStatus, HumanTask, TaskStatus
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import finish_as_system


def open_task(db, bpmn_id, region=None):
    with db.read() as session:
        query = select(HumanTask).where(HumanTask.bpmn_id == bpmn_id, HumanTask.status == TaskStatus.TERBUKA)
        if region:
            query = query.where(HumanTask.region_kode == region)
        return session.scalars(query.order_by(HumanTask.region_kode)).all()


def test_a_year_through_the_pages(year, signed_in):
    db = year
    for onlooker in ("walidata.kab", "forum.sdi", "kepala.dinas", "auditor.prov"):  # none of them may open it
        assert "Buka rekonsiliasi" not in signed_in(onlooker).get(f"/rekonsiliasi/{YEAR}").get_data(as_text=True)
    province = signed_in("walidata.prov")
    assert f"Buka rekonsiliasi {YEAR}" in province.get(f"/rekonsiliasi/{YEAR}").get_data(as_text=True)
    opened = province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)})
    assert opened.status_code == 302
    progress = province.get(f"/rekonsiliasi/{YEAR}").get_data(as_text=True)
    assert "Kabupaten Bulungan" in progress and "berjalan" in progress

    regency = signed_in("walidata.kab")
    (task,) = open_task(db, "tinjauan_kabupaten", "65.01")
    inbox = regency.get("/tugas/").get_data(as_text=True)
    assert f"/rekonsiliasi/tugas/{task.id}" in inbox
    assert 'Kabupaten Bulungan, Kalimantan Utara <span class="code">65.01</span></td>' in inbox  # its regency
    page = regency.get(f"/rekonsiliasi/tugas/{task.id}").get_data(as_text=True)
    assert "DP3AP2KB" in page
    refused = regency.post(f"/rekonsiliasi/tugas/{task.id}", {"catatan": "menunggu data dinas"})
    text = refused.get_data(as_text=True)  # the note written for the Forum stays; the flag's kind in words
    assert refused.status_code == 400 and "belum dijelaskan" in text and ">menunggu data dinas</textarea>" in text
    assert "[warning]" not in text and "[error]" not in text
    with db.read() as session:
        from engine.verification import reconciliation

        flags = reconciliation.year_flags(session, "65", YEAR, "65.01")
    for flag in flags:
        if flag.status == FlagStatus.TERBUKA:
            done = regency.post(
                f"/rekonsiliasi/tugas/{task.id}/tanda/{flag.id}",
                {"aksi": "jelaskan", "catatan": "cakupan DP3AP2KB lebih luas", "status_dilihat": "terbuka"},
            )
            assert done.status_code == 302
    assert regency.post(f"/rekonsiliasi/tugas/{task.id}", {"catatan": "semua dijelaskan"}).status_code == 302
    # the other regency's walidata does not see Bulungan's task; the Forum's page is not the regency's
    assert signed_in("walidata.kab.lain").get(f"/rekonsiliasi/tugas/{task.id}").status_code == 404
    with db.transaction() as session:
        for other in open_task(db, "tinjauan_kabupaten"):
            finish_as_system(session, session.get(HumanTask, other.id))

    forum = signed_in("forum.sdi")
    (forum_task,) = open_task(db, "tinjauan_forum")
    assert regency.get(f"/rekonsiliasi/tugas/{forum_task.id}").status_code == 404
    listed = forum.get(f"/rekonsiliasi/tugas/{forum_task.id}").get_data(as_text=True)
    assert "cakupan DP3AP2KB lebih luas" in listed
    ids = [f.id for f in flags]
    missing = forum.post(f"/rekonsiliasi/tugas/{forum_task.id}", {})
    assert missing.status_code == 400 and "terima atau kembalikan" in missing.get_data(as_text=True)
    verdicts = {f"putusan_{i}": "terima" for i in ids}
    assert forum.post(f"/rekonsiliasi/tugas/{forum_task.id}", verdicts).status_code == 302

    head = signed_in("kepala.dinas")
    (head_task,) = open_task(db, "penetapan_kepala")
    asked = head.get(f"/rekonsiliasi/tugas/{head_task.id}").get_data(as_text=True)
    start = asked.index('id="angka-ditetapkan"')
    figures = asked[start : asked.index("</table>", start)]
    assert "Bulungan" in figures and '<th scope="row">LUT</th><td>3</td><td>3</td>' in figures
    assert 'id="angka-berubah"' not in asked  # nothing changed since the Forum's recount
    assert 'href="/bantuan/walidata-forum-sdi#kepala-dinas"' in asked  # the help of the head's own step
    assert 'id="tanpa-siklus"' in asked  # this world opened no cycle: how many reported is not known
    no_decree = head.post(f"/rekonsiliasi/tugas/{head_task.id}", {"keputusan": "setuju"})
    assert no_decree.status_code == 400 and "surat keputusan" in no_decree.get_data(as_text=True).lower()
    approved = head.post(
        f"/rekonsiliasi/tugas/{head_task.id}",
        {"keputusan": "setuju", "nomor_sk": "188.44/7/2027", "tanggal_sk": "20/11/2026"},
    )
    assert approved.status_code == 302
    decided = head.get(f"/rekonsiliasi/tugas/{head_task.id}").get_data(as_text=True)
    assert 'id="sudah-diputuskan"' in decided and f'href="/penetapan/{YEAR}"' in decided
    assert 'id="revisi-sama"' not in decided  # the determination just made is not a revision to come

    shown = province.get(f"/penetapan/{YEAR}").get_data(as_text=True)
    assert "188.44/7/2027" in shown and "/jejak?" not in shown  # the trail is the auditor's
    with db.read() as session:
        from engine.verification import determinations

        frozen = determinations.get(session, determinations.Actor.system("uji"), YEAR)
    assert frozen.content_hash in shown
    download = province.get(f"/penetapan/{YEAR}/unduh/csv")
    assert download.status_code == 200 and frozen.content_hash in download.get_data(as_text=True)
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert province.get(f"/penetapan/{YEAR}/unduh/doc").status_code == 404

    auditor = signed_in("auditor.prov")
    figures = auditor.get(f"/penetapan/{YEAR}").get_data(as_text=True)  # each official figure leads to its trail
    assert f'href="/penetapan/{YEAR}/jejak?wilayah=65&amp;kategori=LUT"' in figures
    unchosen = auditor.get(f"/penetapan/{YEAR}/jejak")
    assert unchosen.status_code == 302 and unchosen.headers["Location"].endswith(f"/penetapan/{YEAR}")
    trail = auditor.get(f"/penetapan/{YEAR}/jejak?wilayah=65.01&kategori=LUT").get_data(as_text=True)
    assert "cakupan DP3AP2KB lebih luas" in trail and ">3<" in trail
    assert "WITA" in trail and "+00:00" not in trail and "FLAG_" not in trail  # times and actions in words
    assert signed_in("op.desa").get("/penetapan/").status_code == 403
    assert province.get(f"/penetapan/{YEAR}/jejak?wilayah=65.01&kategori=LUT").status_code == 403


def test_the_forums_reason_for_sending_an_explanation_back_reaches_the_regency(year, signed_in):
    """The recount after a return replaces the flags: the regency's next task shows what the Forum
    sent back and why, not a fresh flag with no word of it."""
    from engine.verification import reconciliation

    db = year
    signed_in("walidata.prov").post("/rekonsiliasi/buka", {"tahun": str(YEAR)})
    regency = signed_in("walidata.kab")
    (task,) = open_task(db, "tinjauan_kabupaten", "65.01")
    with db.read() as session:
        flags = reconciliation.year_flags(session, "65", YEAR, "65.01")
    for flag in flags:
        if flag.status == FlagStatus.TERBUKA:
            regency.post(
                f"/rekonsiliasi/tugas/{task.id}/tanda/{flag.id}",
                {"aksi": "jelaskan", "catatan": "cakupan DP3AP2KB lebih luas", "status_dilihat": "terbuka"},
            )
    regency.post(f"/rekonsiliasi/tugas/{task.id}", {"catatan": "semua dijelaskan"})
    with db.transaction() as session:
        for other in open_task(db, "tinjauan_kabupaten"):
            finish_as_system(session, session.get(HumanTask, other.id))
    (forum_task,) = open_task(db, "tinjauan_forum")
    verdicts = {f"putusan_{f.id}": "terima" for f in flags}
    returned = flags[0].id
    verdicts |= {f"putusan_{returned}": "kembalikan", f"alasan_{returned}": "Selisih perlu dicek dengan UPTD PPA"}
    assert signed_in("forum.sdi").post(f"/rekonsiliasi/tugas/{forum_task.id}", verdicts).status_code == 302
    (again,) = open_task(db, "tinjauan_kabupaten", "65.01")
    page = regency.get(f"/rekonsiliasi/tugas/{again.id}").get_data(as_text=True)
    assert 'id="dikembalikan-forum"' in page and "Selisih perlu dicek dengan UPTD PPA" in page
    assert "cakupan DP3AP2KB lebih luas" in page  # the explanation that was sent back


def test_the_head_reads_which_regencies_did_not_report_not_zeros(year, signed_in):
    from engine.verification import cycles
    from tests.factories import SYSTEM
    from tests.integration.reconciliation_steps import to_the_head

    cycles.open_cycle(year, SYSTEM, f"{YEAR}-Q4", region="65.02.01")
    cycles.close_cycle(year, SYSTEM, f"{YEAR}-Q4", early=True)  # none of Malinau's desa reported
    head = to_the_head(year)
    asked = signed_in("kepala.dinas").get(f"/rekonsiliasi/tugas/{head.id}").get_data(as_text=True)
    assert 'id="tidak-melapor"' in asked and "melapor sepanjang tahun di: Kabupaten Malinau, Kabupaten Nunukan" in asked
    figures = asked[
        asked.index('id="angka-ditetapkan"') : asked.index("</table>", asked.index('id="angka-ditetapkan"'))
    ]
    lut = figures.split('<th scope="row">LUT</th>')[1].split("</tr>")[0]
    assert lut == "<td>3</td><td>3</td>" + "<td>tidak melapor</td>" * 4  # asked and silent, or never asked
    reported = figures.split('id="kelengkapan"')[1].split("</tr>")[0]
    assert f"<td>1 dari 1 ({YEAR}-Q4)</td>" in reported
    decided = {"keputusan": "setuju", "nomor_sk": "188.44/7/2027", "tanggal_sk": "20/11/2026"}
    assert signed_in("kepala.dinas").post(f"/rekonsiliasi/tugas/{head.id}", decided).status_code == 302
    page = signed_in("walidata.prov").get(f"/penetapan/{YEAR}").get_data(as_text=True)
    row = page.split('id="kelengkapan"')[1].split("Kabupaten Malinau")[1].split("</tr>")[0]
    assert row.startswith('</td><td class="num">6</td><td class="num">0</td><td class="num">6</td>')
    exported = signed_in("walidata.prov").get(f"/penetapan/{YEAR}/unduh/csv").get_data(as_text=True)
    assert f"kelengkapan_65.02_{YEAR}-Q4" in exported and "0 dari 6 desa/kelurahan melapor" in exported
    regency = signed_in("walidata.kab")  # Bulungan: its own regency's reporting, on the page as in the export
    page = regency.get(f"/penetapan/{YEAR}").get_data(as_text=True)
    assert "Kabupaten Bulungan" in page.split('id="kelengkapan"')[1].split("</table>")[0]
    assert "Kabupaten Malinau" not in page.split('id="kelengkapan"')[1].split("</table>")[0]
    exported = regency.get(f"/penetapan/{YEAR}/unduh/csv").get_data(as_text=True)
    assert f"kelengkapan_65.01_{YEAR}-Q4" in exported and f"kelengkapan_65.02_{YEAR}-Q4" not in exported


def test_the_head_is_told_of_people_standing_in_two_desa_at_once(year, signed_in):
    """A person who moved, entered where they went and never marked "pindah" where they left, is
    counted twice in every figure above the two desa: the head reads it before determining."""
    from tests.integration.reconciliation_steps import to_the_head
    from tests.web.test_figures_agree import moved_in, two_of_lut

    with year.transaction() as s:
        moved, other = two_of_lut(s)
        moved_in(s, other, moved.nik, f"{YEAR}-Q4")  # entered there in the year's last period
    head = to_the_head(year)
    asked = signed_in("kepala.dinas").get(f"/rekonsiliasi/tugas/{head.id}").get_data(as_text=True)
    told = asked.split('id="terdaftar-ganda"')[1].split("</div>")[0]
    assert "1 orang tercatat aktif di lebih dari satu desa/kelurahan" in told
    assert f"<li>LUT: {', '.join(sorted({moved.kode_desa, '65.01.01.2006'}))} — 1 orang</li>" in told
    assert moved.nik not in asked


def test_the_head_is_told_when_a_revision_would_change_no_figure(year, signed_in):
    from tests.integration.reconciliation_steps import determine, to_the_head

    determine(year, YEAR, "SK-1/2027")
    head = to_the_head(year, alasan_revisi="SK baru, angka tetap")
    asked = signed_in("kepala.dinas").get(f"/rekonsiliasi/tugas/{head.id}").get_data(as_text=True)
    assert 'id="revisi-sama"' in asked and "sama persis dengan penetapan revisi 0 (SK SK-1/2027)" in asked


def test_a_forum_reason_past_its_limit_is_refused_beside_its_discrepancy_never_cut(year, signed_in):
    """The Forum's reason for sending an explanation back is kept whole or refused where it was typed:
    a reason cut short would reach the regency saying less than the Forum wrote."""
    from engine.verification import reconciliation
    from tests.factories import SYSTEM
    from tests.integration.reconciliation_steps import at_the_forum, review_regencies

    db = year
    with db.transaction() as session:
        reconciliation.open_year(session, SYSTEM, "65", YEAR)
    review_regencies(db)
    forum, listed = at_the_forum(db)
    sent_back = listed[0].id
    verdicts = {f"putusan_{f.id}": "terima" for f in listed} | {f"putusan_{sent_back}": "kembalikan"}
    too_long = "Selisih perlu dicek. " + "x" * reconciliation.NOTE_LIMIT
    browser = signed_in("forum.sdi")
    refused = browser.post(f"/rekonsiliasi/tugas/{forum.id}", {**verdicts, f"alasan_{sent_back}": too_long})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and f"paling banyak {reconciliation.NOTE_LIMIT} karakter" in text
    assert too_long in text.split(f'id="alasan-{sent_back}"')[1].split(">")[0]  # as typed, to be shortened
    assert [t.id for t in open_task(db, "tinjauan_forum")] == [forum.id]  # nothing decided
    whole = "x" * reconciliation.NOTE_LIMIT
    odd_keys = {"putusan_²": "terima", "putusan_٣": "terima"}  # no discrepancy's id: passed over
    kept = browser.post(
        f"/rekonsiliasi/tugas/{forum.id}", {**verdicts, **odd_keys, f"alasan_{sent_back}": f"  {whole}\n"}
    )
    assert kept.status_code == 302
    with db.read() as session:
        assert session.get(HumanTask, forum.id).data["dikembalikan"] == {str(sent_back): whole}
