"""Uniform answers: 404 for what is outside one's scope or missing, 4xx never 500, local redirects,
diagrams and minutes only for those who need them, and claims that do not stay stuck."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.people import administration, users
from engine.verification import claims
from models import AuditEvent, HumanTask
from tests.factories import SYSTEM, open_with_items
from tests.web.page_forms import attach_minutes


def test_a_deactivated_persons_claims_are_released(db, world):
    with db.transaction() as s:
        kab = users.find_user(s, "verif.kab")
        claims.claim(s, SYSTEM.__class__.of(kab), world.kab_task)
    with db.transaction() as s:
        administration.set_active(s, SYSTEM, users.find_user(s, "verif.kab").id, False)
    with db.read() as s:
        assert s.get(HumanTask, world.kab_task).assignee_id is None
        released = s.scalars(select(AuditEvent).where(AuditEvent.action == "TASK_RELEASED")).all()
        assert [(e.subject_id, e.before) for e in released] == [(str(world.kab_task), {"assignee": "verif.kab"})]


def test_an_administrator_releases_a_stuck_claim_from_the_persons_page(db, world, signed_in):
    with db.transaction() as s:
        kab = users.find_user(s, "verif.kab")
        claims.claim(s, SYSTEM.__class__.of(kab), world.kab_task)
        kab_id = kab.id
    admin = signed_in("admin.prov")
    page = admin.get(f"/admin/pengguna/{kab_id}").get_data(as_text=True)
    assert f"#{world.kab_task}" in page and "lepas klaim" in page
    assert signed_in("verif.kab.lain").post(f"/admin/tugas/{world.kab_task}/lepas").status_code == 403
    done = admin.post(f"/admin/tugas/{world.kab_task}/lepas", {"next": f"/admin/pengguna/{kab_id}"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/pengguna/{kab_id}")
    with db.read() as s:
        assert s.get(HumanTask, world.kab_task).assignee_id is None


def test_bulk_claims_answer_alike_for_missing_and_out_of_scope_tasks(db, world, signed_in):
    other = signed_in("verif.kab.lain")
    answer = other.post("/tugas/klaim", {"task_id": [str(world.kab_task), "999999"]}, token_from="/tugas/")
    assert answer.status_code == 302
    page = other.get("/tugas/").get_data(as_text=True)
    assert f"Tugas {world.kab_task} tidak ada" in page and "Tugas 999999 tidak ada" in page
    assert "65.01" not in page.split("Tugas 999999")[0].split(f"Tugas {world.kab_task}")[-1]


@pytest.mark.parametrize(
    "path",
    [
        "/tugas/9223372036854775808",
        "/tugas/2147483648",
        "/tugas/99999999999999999999999",
        "/tugas/%C2%B2",
        "/audit/instans/9223372036854775808",
        "/desa/pengajuan/2147483648",
    ],
)
def test_ids_beyond_the_columns_or_not_ascii_are_404(signed_in, people, path):
    for username in ("verif.kab", "auditor.prov", "op.desa"):
        assert signed_in(username).get(path).status_code in (403, 404)


def test_form_keys_and_ids_that_are_not_plain_digits_are_not_errors(db, world, signed_in):
    kab = signed_in("verif.kab")
    for ids in (["²"], ["9223372036854775808"], ["2147483648"]):
        answer = kab.post("/tugas/klaim", {"task_id": ids}, token_from="/tugas/")
        assert answer.status_code in (302, 400)
    answer = kab.post(
        f"/tugas/{world.kab_task}/selesai",
        {"keputusan": "setuju", "verdict_²": "tidak_sesuai", "verdict_99999999999999": "tidak_sesuai"},
        token_from=f"/tugas/{world.kab_task}",
    )
    assert answer.status_code < 500


def test_page_numbers_and_years_that_are_not_plain_digits_are_not_errors(db, world, signed_in):
    """`²` passes Python's isdigit() but not int(), and int() refuses more than 4,300 digits: the
    task page shows its first page, the reconciliation its last year, instead of a 500."""
    kab = signed_in("verif.kab")
    for page in ("%C2%B2", "9" * 5000, "99999999999999999999"):
        answer = kab.get(f"/tugas/{world.kab_task}?halaman={page}")
        assert answer.status_code == 200, page
    province = signed_in("valid.prov")
    answer = province.get("/rekonsiliasi/?tahun=%C2%B2%C2%B2%C2%B2%C2%B2")
    assert answer.status_code == 302 and "%C2%B2" not in answer.headers["Location"]


@pytest.mark.parametrize(
    "target", ["https://contoh.jahat/", "//contoh.jahat/", "/\\contoh.jahat/", "/\tcontoh", "javascript:alert(1)"]
)
def test_redirects_go_only_to_local_paths(browser, people, target):
    browser.login("verif.kab")
    answer = browser.post("/bahasa", {"lang": "en", "next": target}, token_from="/tugas/")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "contoh.jahat" not in location and "javascript" not in location


def test_definition_xml_only_for_those_whose_regions_run_it_and_for_auditors(db, world, signed_in):
    """Working people read the diagrams their regions run; auditors and admins read every version
    (what the process was when a decision was made; a diagram holds no one's data)."""
    with db.read() as s:
        from models import ProcessInstance

        definition_id = s.get(ProcessInstance, world.instance).definition_id
    path = f"/definisi/{definition_id}/xml"
    for username in ("op.desa", "verif.kab", "auditor.prov", "auditor.kab.lain", "admin.prov"):
        assert signed_in(username).get(path).status_code == 200, username
    for username in ("verif.kab.lain", "verif.kec.lain"):
        assert signed_in(username).get(path).status_code == 404, username


def test_minutes_are_no_store_and_not_for_administrators(app, db, people, signed_in):
    sid = open_with_items(db)
    operator = signed_in("op.desa")
    attach_minutes(operator, sid)
    own = operator.get(f"/desa/berita-acara/{sid}")
    assert own.status_code == 200 and own.headers["Cache-Control"] == "no-store"
    own.close()
    admin = signed_in("admin.prov").get(f"/desa/berita-acara/{sid}")
    assert admin.status_code == 404
    missing = signed_in("admin.prov").get("/desa/berita-acara/999999")  # the same words: neither exists for it
    assert missing.status_code == 404 and "Berita acara tidak ada" in missing.get_data(as_text=True)
    assert "Berita acara tidak ada" in admin.get_data(as_text=True)
    admin.close()


def test_the_command_line_answers_in_indonesian_without_a_traceback(tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/tidak_ada", "SIJOSKU_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["check"], env={**env, "SECRET_KEY": "t"})
    assert result.exit_code == 2
    assert "Galat: Basis data tidak dapat dihubungi" in result.output and "Traceback" not in result.output
    assert "refused" in result.output  # the cause the operator fixes, in the driver's words
    never_made = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'baru.db'}", "SECRET_KEY": "t"}
    result = CliRunner().invoke(main, ["cycle", "status", "2026-Q4"], env=never_made)
    # foreseen (often a command run without the service's DATABASE_URL): a refusal naming the database
    assert result.exit_code == 1 and "jalankan sijosku init" in result.output
    assert "baru.db belum diinisialisasi" in result.output and "DATABASE_URL" in result.output


def test_another_desas_import_job_answers_like_a_missing_one(browser, db, people, signed_in):
    import io

    from tests.factories import csv_of, person_row

    sid = open_with_items(db, rows=[])
    browser.login("op.desa")
    done = browser.post(
        f"/desa/pengajuan/{sid}/impor",
        {"berkas": (io.BytesIO(csv_of([person_row(1)]).encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    job_path = done.headers["Location"]
    other = signed_in("op.lain")
    theirs, missing = other.get(job_path), other.get("/desa/impor/999999")
    assert theirs.status_code == missing.status_code == 404
    assert "65.01.01.2005" not in theirs.get_data(as_text=True)


def test_a_bad_status_or_page_in_a_filter_is_400_and_an_old_saved_filter_is_not_an_error(db, world, signed_in):
    from models import SavedFilter

    kab = signed_in("verif.kab")
    for query in ("?status=bogus", "?urut=zz", "?halaman=abc", "?halaman=999999999999", "?status=%00"):
        assert kab.get("/tugas/" + query).status_code == 400, query
    assert kab.post("/tugas/filter", {"nama": "x", "status": "bogus"}, token_from="/tugas/").status_code == 400
    with db.transaction() as s:
        s.add(SavedFilter(user_id=users.find_user(s, "verif.kab").id, nama="lama", params={"status": "bogus"}))
    assert kab.get("/tugas/").status_code == 200


def test_a_command_that_loses_a_race_says_to_try_again_not_to_check_the_settings(tmp_path, monkeypatch):
    """A deadlock or serialisation failure is the timing, not the database's address."""
    from click.testing import CliRunner
    from sqlalchemy.exc import OperationalError

    from web.cli import main, verification

    class Deadlock(Exception):
        sqlstate = "40P01"

    def losing(*args, **kwargs):
        raise OperationalError("UPDATE region", {}, Deadlock("deadlock detected"))

    monkeypatch.setattr(verification, "acting", lambda session, username: None)
    monkeypatch.setattr(verification.bulk_approval, "approve_many", losing)
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sijosku.db'}",
        "SIJOSKU_INSTANCE_DIR": str(tmp_path),
        "SECRET_KEY": "t",
    }
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["task", "approve-many", "1", "--user", "valid.prov"], env=env)
    assert result.exit_code == 1 and "Coba lagi" in result.output and "DATABASE_URL" not in result.output
