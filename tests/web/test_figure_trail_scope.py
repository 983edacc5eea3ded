"""The auditor's trail of one official figure (`/penetapan/<tahun>/jejak`) is scoped to the auditor's
region like every other read: an auditor of one regency must not read another regency's
reconciliation decisions and the reasons written on them; free text an auditor reads there is masked
like the rest of the trail (a NIK a walidata pasted in a note)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import FlagStatus, HumanTask, TaskStatus
from tests.factories import RECONCILIATION_YEAR as YEAR
from tests.factories import SYSTEM, csv_of, decide, finish_as_system, person_row, reconciliation_year, submit

NIK = person_row(1)["nik"]
BULUNGAN_NOTE = f"catatan rahasia Bulungan: dobel NIK {NIK}"


def _malinau_verified(db, password_hash):
    from engine.people import users
    from engine.verification import imports, submissions

    desa = "65.02.01.2005"
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.malinau", "operator", desa).password_hash = password_hash
        users.add_user(s, SYSTEM, "verif.kec.malinau", "verifier", desa[:8]).password_hash = password_hash
        sid = submissions.open_submission(s, SYSTEM, desa, f"{YEAR}-Q4", "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(50, nik="6502015705500050", no_kk="6502011705500050")]))
    submit(db, "op.malinau", sid)
    for user in ("verif.kec.malinau", "verif.kab.lain", "valid.prov"):
        decide(db, user, sid, "approve")


@pytest.fixture
def determined(db, people, password_hash, signed_in):
    """The year reconciled and determined, Bulungan (65.01) closing its review with BULUNGAN_NOTE."""
    from engine.verification import reconciliation

    reconciliation_year(db, password_hash, team=False)
    _malinau_verified(db, password_hash)  # Malinau (65.02) has a verified person too: a figure of its own
    with db.transaction() as session:
        from engine.core.actors import Actor
        from engine.people import users

        for username, role, region in (("auditor.kab", "auditor", "65.01"),):
            users.add_user(session, Actor.system("test"), username, role, region).password_hash = password_hash
    province = signed_in("walidata.prov")
    assert province.post("/rekonsiliasi/buka", {"tahun": str(YEAR)}).status_code == 302
    regency = signed_in("walidata.kab")
    with db.read() as session:
        (task,) = session.scalars(
            select(HumanTask).where(
                HumanTask.bpmn_id == "tinjauan_kabupaten",
                HumanTask.status == TaskStatus.TERBUKA,
                HumanTask.region_kode == "65.01",
            )
        ).all()
        flags = reconciliation.year_flags(session, "65", YEAR, "65.01")
    for flag in flags:
        if flag.status == FlagStatus.TERBUKA:
            regency.post(
                f"/rekonsiliasi/tugas/{task.id}/tanda/{flag.id}",
                {"aksi": "jelaskan", "catatan": f"penjelasan dengan NIK {NIK}", "status_dilihat": "terbuka"},
            )
    assert regency.post(f"/rekonsiliasi/tugas/{task.id}", {"catatan": BULUNGAN_NOTE}).status_code == 302
    with db.transaction() as session:
        for other in session.scalars(
            select(HumanTask).where(HumanTask.bpmn_id == "tinjauan_kabupaten", HumanTask.status == TaskStatus.TERBUKA)
        ).all():
            finish_as_system(session, other)
    forum = signed_in("forum.sdi")
    with db.read() as session:
        (forum_task,) = session.scalars(
            select(HumanTask).where(HumanTask.bpmn_id == "tinjauan_forum", HumanTask.status == TaskStatus.TERBUKA)
        ).all()
    verdicts = {f"putusan_{f.id}": "terima" for f in flags}
    assert forum.post(f"/rekonsiliasi/tugas/{forum_task.id}", verdicts).status_code == 302
    head = signed_in("kepala.dinas")
    with db.read() as session:
        (head_task,) = session.scalars(
            select(HumanTask).where(HumanTask.bpmn_id == "penetapan_kepala", HumanTask.status == TaskStatus.TERBUKA)
        ).all()
    approved = head.post(
        f"/rekonsiliasi/tugas/{head_task.id}",
        {"keputusan": "setuju", "nomor_sk": "188.44/7/2027", "tanggal_sk": "20/11/2026"},
    )
    assert approved.status_code == 302
    with db.read() as session:
        note = session.scalar(
            select(HumanTask.alasan).where(HumanTask.bpmn_id == "tinjauan_kabupaten", HumanTask.region_kode == "65.01")
        )
    assert note == BULUNGAN_NOTE  # what Bulungan wrote is kept on its task
    return db


def test_another_regencys_auditor_does_not_read_bulungans_reconciliation_decisions(determined, signed_in):
    other = signed_in("auditor.kab.lain")  # Malinau (65.02)
    page = other.get(f"/penetapan/{YEAR}/jejak?wilayah=65.02&kategori=LUT")
    text = page.get_data(as_text=True)
    assert page.status_code == 200  # Malinau's own figure: its auditor's to trace
    assert "catatan rahasia Bulungan" not in text, "Bulungan's decision and reason shown to Malinau's auditor"
    assert NIK not in text


def test_the_figure_trail_masks_a_nik_in_the_notes_it_shows_the_auditor(determined, signed_in):
    with determined.read() as session:  # the same notes on the reconciliation's process-instance page: masked
        instance = session.scalar(select(HumanTask.instance_id).where(HumanTask.bpmn_id == "tinjauan_kabupaten"))
    on_instance_page = signed_in("auditor.prov").get(f"/audit/instans/{instance}").get_data(as_text=True)
    assert "catatan rahasia Bulungan" in on_instance_page and NIK not in on_instance_page
    auditor = signed_in("auditor.kab")
    text = auditor.get(f"/penetapan/{YEAR}/jejak?wilayah=65.01&kategori=LUT").get_data(as_text=True)
    assert "catatan rahasia Bulungan" in text  # the regency's own decision is the auditor's to read
    assert NIK not in text, "a NIK in a walidata's note or reason is shown unmasked on the auditor's trail"


def _trail_links(browser, year: int) -> list[str]:
    page = browser.get(f"/penetapan/{year}")
    assert page.status_code == 200
    found = re.findall(r'href="(/penetapan/\d+/jejak\?[^"]+)"', page.get_data(as_text=True))
    return sorted({link.replace("&amp;", "&") for link in found})


def test_every_trail_link_the_determination_page_gives_an_auditor_opens(determined, signed_in):
    """Only figures of the auditor's regions link to their trail: the province's totals are not
    Malinau's auditor's to trace (a link answering "not in your region" is a dead end), its own are."""
    assert _trail_links(signed_in("auditor.prov"), YEAR)  # the province's auditor traces its figures
    regency = signed_in("auditor.kab.lain")  # Malinau (65.02)
    links = _trail_links(regency, YEAR)
    dead = [link for link in links if regency.get(link).status_code != 200]
    assert dead == [], f"links that answer 'not in your region': {dead}"
    assert links and all("wilayah=65.02&" in link for link in links)  # its own regency's figures, to trace
