"""Auditors: records and their four-tier timelines, NIK privacy, chain integrity, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select, text

from engine.core import audit
from engine.verification import trail
from models import AuditEvent, Record, Submission, User
from tests.factories import actor, build_world, decide, open_period, open_with_items, person_row, submit
from web.views import audit as audit_pages


def test_searching_records_masks_the_nik(browser, db, people):
    build_world(db)
    browser.login("auditor.prov")
    found = browser.post("/audit/", {"nik": person_row(7)["nik"]}, token_from="/audit/").get_data(as_text=True)
    assert person_row(7)["nama"] in found and '<td class="mono">650101**********</td>' in found
    assert f'<td class="mono">{person_row(7)["nik"]}' not in found
    assert person_row(7)["nama"] in browser.post("/audit/", {"nama": "ingan 7"}, token_from="/audit/").get_data(
        as_text=True
    )
    by_region = browser.post("/audit/", {"wilayah": "65.01.01", "kategori": "LUT"}, token_from="/audit/")
    assert person_row(7)["nama"] in by_region.get_data(as_text=True)


def test_searches_by_nik_are_on_the_trail_and_bounded(browser, db, people, monkeypatch):
    """A masked NIK leaves only its serial unknown: guessing it by searching is bounded per hour, and
    every search by NIK is recorded (a search by name is not a look at a number)."""
    from engine.verification import trail

    monkeypatch.setattr(trail, "NIK_SEARCHES_PER_HOUR", 2)
    build_world(db)
    browser.login("auditor.prov")
    guess = person_row(7)["nik"][:12]
    for serial in ("0001", "0002"):
        assert browser.post("/audit/", {"nik": guess + serial}, token_from="/audit/").status_code == 200
    browser.post("/audit/", {"nama": "ingan"}, token_from="/audit/")
    third = browser.post("/audit/", {"nik": guess + "0003"}, token_from="/audit/")
    assert third.status_code == 429 and "pencarian dengan NIK" in third.get_data(as_text=True)
    with db.read() as s:
        searched = [
            e.after
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "NIK_SEARCHED").order_by(AuditEvent.seq))
        ]
    assert [a["nik"][-4:] for a in searched] == ["0001", "0002"] and {"ditemukan"} < set(searched[0])


def test_a_record_timeline_shows_every_version_and_all_four_tiers(browser, db, people):
    world = build_world(db)
    browser.login("auditor.prov")
    page = browser.get(f"/audit/catatan/{world.record}").get_data(as_text=True)
    assert "Versi 1" in page and "valid.prov" in page and "sumber" in page
    for tier in ("desa", "kecamatan", "kabupaten", "provinsi"):
        assert f'data-tingkat="{tier}"' in page
    assert "Maria Ingan 7" in page and "—" in page  # before → after
    kk = person_row(7)["no_kk"]  # the family card number is masked like the NIK
    assert kk not in page and f"{kk[:6]}**********" in page and person_row(7)["nik"] not in page
    with db.read() as s:  # a person's name, birth date and address over the years: the look is on the trail
        looked = s.scalars(select(AuditEvent).where(AuditEvent.action == "TRAIL_VIEWED")).all()
    assert [(e.actor, e.subject_type, e.subject_id) for e in looked] == [
        ("auditor.prov", "ppks_record", str(world.record))
    ]


def test_each_version_says_its_period_and_one_found_as_it_stood_says_so(browser, db, people):
    """Approvals may come late and cycles overlap: a version names the period that wrote it, and a
    re-verification that changed nothing says so instead of showing an empty table."""
    world = build_world(db)
    submit(db, "op.desa", world.draft)  # 2026-Q4 carries the record verified in 2026-Q2, found as it stood
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, world.draft, "approve")
    browser.login("auditor.prov")
    page = browser.get(f"/audit/catatan/{world.record}").get_data(as_text=True)
    assert "Versi 1 · periode 2026-Q2 ·" in page and "Versi 2 · periode 2026-Q4 ·" in page
    second = page.split('id="versi-2"')[1]
    assert "Ditemukan seperti adanya: tidak ada nilai yang berubah." in second and "<table>" not in second
    assert "sumber: verval" in second


def test_a_records_timeline_reads_its_versions_tasks_and_decisions_at_once(db, people, statements):
    """A record re-verified every quarter for years has a version a period: its page reads the tasks
    and the decisions of all of them in the same few statements, not a few more per version."""
    world = build_world(db)
    auditor = actor(db, "auditor.prov")

    def read() -> tuple[int, int]:
        statements.clear()
        with db.transaction() as s:
            _, versions = trail.record_timeline(s, auditor, world.record)
        assert all(v.trail for v in versions)  # each version with the decisions that wrote it
        return len(versions), len(statements)

    one = read()
    submit(db, "op.desa", world.draft)  # 2026-Q4 verifies the record again: a second version
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, world.draft, "approve")
    two = read()
    assert (one[0], two[0]) == (1, 2) and two[1] == one[1]


def test_looking_up_a_full_nik_is_recorded(browser, db, people):
    world = build_world(db)
    browser.login("auditor.prov")
    short = browser.post(
        f"/audit/catatan/{world.record}/nik", {"alasan": "cek"}, token_from=f"/audit/catatan/{world.record}"
    )
    refused = short.get_data(as_text=True)  # the record again, saying what the reason lacks
    assert short.status_code == 400 and "Alasan terlalu pendek" in refused and 'value="cek"' in refused
    assert "Linimasa versi" in refused and person_row(7)["nik"] not in refused
    for hidden in ("\u200b" * 5, "\x01\x02\x03\x04\x05", "\u202eKPB nakirepmem"):  # unseen, or read backwards
        unseen = browser.post(
            f"/audit/catatan/{world.record}/nik", {"alasan": hidden}, token_from=f"/audit/catatan/{world.record}"
        )
        said = unseen.get_data(as_text=True)
        assert unseen.status_code == 400 and "karakter tersembunyi" in said and person_row(7)["nik"] not in said
    page = browser.post(
        f"/audit/catatan/{world.record}/nik",
        {"alasan": "pemeriksaan BPK 2026"},
        token_from=f"/audit/catatan/{world.record}",
    ).get_data(as_text=True)
    assert person_row(7)["nik"] in page
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "NIK_VIEWED"))
    assert event.actor == "auditor.prov" and event.reason == "pemeriksaan BPK 2026"


def test_the_integrity_button_reports_an_intact_and_a_broken_chain(browser, db, people):
    build_world(db)
    browser.login("auditor.prov")
    ok = browser.post("/audit/verifikasi", token_from="/audit/").get_data(as_text=True)
    assert "Rantai utuh" in ok
    head = re.search(r'id="kepala-rantai">(\d+:[0-9a-f]{64})<', ok).group(1)  # to publish elsewhere
    through = browser.post("/audit/verifikasi", {"kepala": head}, token_from="/audit/").get_data(as_text=True)
    assert "Rantai utuh" in through and "Kepala yang diterbitkan ada di dalamnya" in through
    odd = browser.post("/audit/verifikasi", {"kepala": "kemarin"}, token_from="/audit/")
    assert odd.status_code == 400 and "BARIS:HASH" in odd.get_data(as_text=True)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET reason = 'diubah' WHERE seq = 5"))
    broken = browser.post("/audit/verifikasi", token_from="/audit/").get_data(as_text=True)
    assert "Rantai rusak" in broken and "baris audit 5" in broken


_GOES_ON = re.compile(r'name="lanjut" value="([^"]+)"')


def _check_in_slices(browser, head="", limit=100):
    """The auditor presses the button and each page goes on from the last, as its script does."""
    page = browser.post("/audit/verifikasi", {"kepala": head}, token_from="/audit/").get_data(as_text=True)
    pages = [page]
    for _ in range(limit):
        carried = _GOES_ON.search(page)
        if not carried:
            return pages
        page = browser.post("/audit/verifikasi", {"lanjut": carried.group(1), "kepala": head}, token_from="/audit/")
        pages.append(page.get_data(as_text=True))
        page = pages[-1]
    raise AssertionError(f"the check did not reach the head in {limit} pages")


def test_a_long_trail_is_checked_a_slice_per_page_each_going_on_from_the_last(browser, db, people, monkeypatch):
    """At national scale the chain holds millions of rows: each request checks a slice and the page
    goes on from where it stopped, saying how far it has come, to the same answer as one long check."""
    build_world(db)
    monkeypatch.setattr(trail, "VERIFY_SLICE", 4)
    browser.login("auditor.prov")
    pages = _check_in_slices(browser)
    with db.read() as s:
        whole = audit.verify_chain(s)
    assert f'id="kemajuan-rantai" value="4" max="{whole.rows}"' in pages[0] and "Rantai utuh" not in pages[0]
    assert "Rantai utuh" in pages[-1] and f"{whole.rows}:{whole.head_hash}" in pages[-1]
    assert len(pages) == -(-whole.rows // 4) and "Diperiksa bertahap sejak" in pages[-1]


def test_a_check_in_slices_passes_through_a_published_head_beyond_its_first_slice(browser, db, people, monkeypatch):
    build_world(db)
    monkeypatch.setattr(trail, "VERIFY_SLICE", 4)
    with db.read() as s:
        row_8 = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 8))
    browser.login("auditor.prov")
    through = _check_in_slices(browser, f"8:{row_8}")[-1]
    assert "Rantai utuh" in through and "Kepala yang diterbitkan ada di dalamnya" in through
    rewritten = _check_in_slices(browser, f"8:{'a' * 64}")[-1]
    assert "Rantai rusak" in rewritten and "baris audit 8 tidak sama dengan kepala yang diterbitkan" in rewritten


def test_a_slice_carried_from_elsewhere_does_not_go_on(browser, db, people, app, monkeypatch):
    """A forged, altered, foreign, stale or earlier check's page cannot finish the check as intact:
    rows read long ago may have changed since, so the auditor starts again."""
    build_world(db)
    monkeypatch.setattr(trail, "VERIFY_SLICE", 4)
    browser.login("auditor.prov")
    earlier = _GOES_ON.search(browser.post("/audit/verifikasi", token_from="/audit/").get_data(as_text=True)).group(1)
    first = _GOES_ON.search(browser.post("/audit/verifikasi", token_from="/audit/").get_data(as_text=True)).group(1)
    with browser.client.session_transaction() as kept:
        check = kept[audit_pages._CHECK][0]
    with db.read() as s:
        me = s.scalar(select(User.id).where(User.username == "auditor.prov"))
    with app.test_request_context():
        signed = audit_pages._carried().dumps
        unsalted = URLSafeTimedSerializer(app.config["SECRET_KEY"]).dumps([me, "", check, 4, "0" * 64])
        refused = [
            (first[:-3] + ("xyz" if first.endswith("abc") else "abc"), ""),  # altered
            (signed([10**6, "", check, 4, "0" * 64]), ""),  # someone else's
            (signed([me, "", check, "4", "0" * 64]), ""),  # a row written as text
            (signed([me, "", check, 4, "0" * 64, 1]), ""),  # more than a slice carries
            (unsalted, ""),  # signed for something else
            (earlier, ""),  # an earlier check of the same session
            (first, f"1:{'a' * 64}"),  # another published head
        ]
    for token, head in refused:
        answer = browser.post("/audit/verifikasi", {"lanjut": token, "kepala": head}, token_from="/audit/")
        assert answer.status_code == 400 and "mulai pemeriksaan lagi" in answer.get_data(as_text=True), token
    monkeypatch.setattr(audit_pages, "_SLICE_LASTS", -1)  # the page waited too long for its next slice
    stale = browser.post("/audit/verifikasi", {"lanjut": first}, token_from="/audit/")
    assert stale.status_code == 400
    monkeypatch.setattr(audit_pages, "_SLICE_LASTS", 600)
    monkeypatch.setattr(trail, "CHECK_LASTS", timedelta(0))  # the check began too long ago
    assert browser.post("/audit/verifikasi", {"lanjut": first}, token_from="/audit/").status_code == 400
    monkeypatch.setattr(trail, "CHECK_LASTS", timedelta(hours=1))
    assert browser.post("/audit/verifikasi", {"lanjut": first}, token_from="/audit/").status_code == 200


def test_the_trail_exports_as_csv_with_hashes(browser, db, people):
    build_world(db)
    browser.login("auditor.prov")
    response = browser.post("/audit/ekspor.csv", {"alasan": "pemeriksaan BPK 2026"}, token_from="/audit/")
    assert response.get_data().startswith(b"\xef\xbb\xbf")  # a spreadsheet reads it as UTF-8
    assert "jejak-audit-65-" in response.headers["Content-Disposition"]  # which trail, and when
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    with db.read() as s:
        count = s.scalar(select(func.count()).select_from(AuditEvent))
    assert rows[0][:4] == ["seq", "at", "actor", "action"] and len(rows) == count + 1
    assert rows[1][-2] == "0" * 64  # the first row chains to the genesis hash


def test_an_export_without_a_reason_stays_on_the_audit_page_saying_what_is_missing(browser, db, people):
    browser.login("auditor.prov")
    refused = browser.post("/audit/ekspor.csv", {"alasan": "BPK"}, token_from="/audit/")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert 'id="ekspor-ditolak"' in page and "Alasan terlalu pendek" in page
    hidden = browser.post("/audit/ekspor.csv", {"alasan": "\u202eKPB nakirepmem"}, token_from="/audit/")
    assert hidden.status_code == 400 and "karakter tersembunyi" in hidden.get_data(as_text=True)
    assert 'name="alasan" required minlength="5" maxlength="2000" value="BPK" aria-invalid="true"' in page
    assert 'id="verifikasi-rantai"' in page  # the audit page itself, not a page of its own
    with db.read() as s:
        assert not s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "TRAIL_EXPORTED"))


def test_the_export_escapes_formulas_so_that_every_value_reads_back_exactly(browser, db, people):
    """A reason beginning like a formula gets a leading ', and so does one beginning with ' itself: one
    leading ' removed from each cell gives the stored value, which the hashes were computed over."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", reason="-umur tidak sesuai kategori")
    submit(db, "op.desa", sid)
    decide(db, "verif.kec", sid, "return", reason="'kutip di awal alasan")
    browser.login("auditor.prov")
    response = browser.post("/audit/ekspor.csv", {"alasan": "pemeriksaan BPK 2026"}, token_from="/audit/")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    column = rows[0].index("reason")
    exported = {int(r[0]): r[column] for r in rows[1:]}
    assert "'-umur tidak sesuai kategori" in exported.values() and "''kutip di awal alasan" in exported.values()
    with db.read() as s:
        stored = {e.seq: e.reason or "" for e in s.scalars(select(AuditEvent))}
    read_back = {seq: text[1:] if text.startswith("'") else text for seq, text in exported.items()}
    assert {seq: read_back[seq] for seq in stored} == stored


def test_an_instance_timeline_with_its_diagram(browser, db, people, app, signed_in):
    world = build_world(db)
    browser.login("auditor.prov")
    page = browser.get(f"/audit/instans/{world.instance}").get_data(as_text=True)
    assert "TASK_COMPLETED" in page and "SUBMISSION_VERIFIED" in page and 'class="bpmn-viewer"' in page
    assert "tugas diselesaikan <code>TASK_COMPLETED</code>" in page  # in words, beside the exact code
    assert signed_in("auditor.kab.lain").get(f"/audit/instans/{world.instance}").status_code == 404


def test_an_instance_timeline_pages_its_events_and_items(browser, db, people, monkeypatch):
    """A kelurahan's instance holds thousands of events and items: each is read a page at a time, and
    every event is on some page, once, in the order of the trail."""
    from engine.verification import trail

    monkeypatch.setattr(trail, "EVENTS_PAGE", 4)
    monkeypatch.setattr(trail, "ITEMS_PAGE", 1)
    world = build_world(db)
    with db.read() as s:
        expected = list(
            s.scalars(select(AuditEvent.seq).where(AuditEvent.instance_id == world.instance).order_by(AuditEvent.seq))
        )
    browser.login("auditor.prov")
    first = browser.get(f"/audit/instans/{world.instance}").get_data(as_text=True)
    pages = int(re.search(r"<span>1 / (\d+)</span>\s*<a [^>]*halaman=2", first).group(1))
    seen = []
    for number in range(1, pages + 1):
        page = browser.get(f"/audit/instans/{world.instance}?halaman={number}").get_data(as_text=True)
        seen += [int(n) for n in re.findall(r"<tr><td>(\d+)</td><td>", page.split('id="h-events"', 1)[1])]
    assert seen[: len(expected)] == expected and len(seen) - len(expected) < 4  # viewing adds to the trail
    with db.read() as s:  # the draft's items, a page each
        draft = s.scalar(select(Submission.instance_id).where(Submission.id == world.draft))
    second = browser.get(f"/audit/instans/{draft}?halaman_item=2&halaman=1").get_data(as_text=True)
    items = second.split('id="temuan"', 1)[1].split("</table>", 1)[0]
    total = int(re.search(r"Item dan temuan pemeriksaan \((\d+)\)", second).group(1))
    assert items.count("<tr><td>") == 1 and "halaman_item=1" in second and f"<span>2 / {total}</span>" in second
    assert browser.get(f"/audit/instans/{world.instance}?halaman=0").status_code == 400


def test_a_removal_is_a_version_saying_the_standing_and_why(browser, db, people):
    """A person found to have died leaves the register: the version and the trail say the record was
    removed, and why, where before they showed no change at all."""
    from engine.core.actors import Actor
    from engine.people import users
    from engine.verification import register
    from models import RecordVersion, SubmissionItem, VervalStatus

    world = build_world(db)
    with db.transaction() as s:
        operator = Actor.of(users.find_user(s, "op.desa"))
        register.prefill(s, {"65.01.01.2005": world.draft})
        item = s.scalar(
            select(SubmissionItem.id).where(
                SubmissionItem.submission_id == world.draft, SubmissionItem.record_id == world.record
            )
        )
        register.set_status(
            s, operator, world.draft, [item], VervalStatus.MENINGGAL, "wafat 3 Maret, akta kematian ada"
        )
    submit(db, "op.desa", world.draft)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, world.draft, "approve")
    with db.read() as s:
        last = s.scalar(
            select(RecordVersion).where(RecordVersion.record_id == world.record).order_by(RecordVersion.versi.desc())
        )
        removed = s.scalar(select(AuditEvent).where(AuditEvent.action == "RECORD_REMOVED"))
    assert last.perubahan["status"] == ["aktif", "dihapus"] and "wafat 3 Maret" in last.perubahan["alasan_hapus"][1]
    assert removed.before["status"] == "aktif" and removed.after["status"] == "dihapus" and "wafat" in removed.reason
    browser.login("auditor.prov")
    page = browser.get(f"/audit/catatan/{world.record}").get_data(as_text=True)
    assert "Alasan dihapus dari register" in page and "wafat 3 Maret" in page


def test_every_version_of_a_process_and_what_changed_are_open_to_the_auditor(browser, db, people, signed_in):
    from engine.bpmn import definitions
    from engine.core.config import DEFAULT_BPMN_DIR
    from tests.factories import SYSTEM

    xml = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text()
    with db.transaction() as s:  # version 2, which no instance has ever run
        second = definitions.deploy(
            s, SYSTEM, xml.replace("sla_durasi</bpmn:timeDuration>", '"P7D"</bpmn:timeDuration>')
        )
    browser.login("auditor.prov")
    listed = browser.get("/audit/").get_data(as_text=True)
    link = f"/admin/definisi/banding?kiri=1&amp;kanan={second.definition.id}"
    assert 'id="versi-definisi"' in listed and link in listed and second.definition.sha256[:12] in listed
    compared = browser.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "«Batas waktu kecamatan»" in compared and "7 hari" in compared and 'href="/audit/"' in compared
    assert browser.get(f"/definisi/{second.definition.id}/xml").status_code == 200
    assert signed_in("op.desa").get(f"/definisi/{second.definition.id}/xml").status_code == 404
    assert signed_in("verif.kec").get(link.replace("&amp;", "&")).status_code == 403


def test_a_search_with_more_matches_than_shown_says_so(browser, db, people, monkeypatch):
    from engine.verification import trail

    build_world(db)
    another = open_period(db, "2026-Q1", [person_row(9)])
    submit(db, "op.desa", another)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, another, "approve")
    original = trail.search_records
    monkeypatch.setattr(trail, "search_records", lambda *a, **kw: original(*a, **{**kw, "limit": 1}))
    browser.login("auditor.prov")
    page = browser.post("/audit/", {"wilayah": "65.01"}, token_from="/audit/").get_data(as_text=True)
    with db.read() as s:
        total = s.scalar(select(func.count()).select_from(Record))
    assert total > 1 and f"Menampilkan 1 pertama dari {total} catatan yang cocok" in page


def test_a_search_that_cannot_match_says_why_and_keeps_what_was_written(browser, db, people):
    browser.login("auditor.prov")
    refused = browser.post("/audit/", {"nik": "12ab", "wilayah": "zz.99"}, token_from="/audit/")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="pencarian-ditolak"' in page
    assert "NIK dicari utuh: 16 angka" in page and "Kode wilayah Kemendagri bertitik" in page
    assert 'value="12ab"' in page and 'value="zz.99"' in page
    grouped = browser.post("/audit/", {"nik": "6501 0157 0550 0001"}, token_from="/audit/")
    assert grouped.status_code == 200 and "pencarian-ditolak" not in grouped.get_data(as_text=True)


def test_an_instances_items_set_aside_are_marked_as_such(browser, db, people):
    """The auditor reads which entries of a submission went up and which were set aside."""
    from engine.verification import items
    from tests.factories import actor, person_row

    world = build_world(db)
    with db.transaction() as s:
        values = {k: str(v) for k, v in person_row(12).items() if k in items.ITEM_COLUMNS}
        aside = items.save_item(s, actor(db, "op.desa"), world.draft, values).item.id
        items.discard_item(s, actor(db, "op.desa"), world.draft, aside)
        draft = s.scalar(select(Submission.instance_id).where(Submission.id == world.draft))
    browser.login("auditor.prov")
    page = browser.get(f"/audit/instans/{draft}").get_data(as_text=True)
    table = page.split('id="temuan"', 1)[1].split("</table>", 1)[0]
    assert f'<tr><td>{aside} <span class="badge">disisihkan</span></td>' in table
