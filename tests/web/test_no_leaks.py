"""A NIK registered in another region: the operator learns only that it is registered elsewhere;
the place and category reach only verifiers whose region covers both places, and auditors."""

from __future__ import annotations

import io
import json
from datetime import date

from click.testing import CliRunner
from sqlalchemy import select

from engine.core import clock
from engine.quality.nik import compose
from engine.verification import submissions
from models import QualityFlag, Record, RecordStatus, Submission
from tests.factories import SYSTEM, csv_of, decide_task, open_task, person_row

ELSEWHERE = "65.01.02.2001"  # Long Beluah, in another kecamatan of the same kabupaten
SECRETS = (ELSEWHERE, "Long Beluah", "NAPZA", "Penyalahgunaan")
NIK = compose("65.01.02", date(1980, 3, 9), "L", 41)


def _registered_elsewhere(db):
    with db.transaction() as s:
        s.add(
            Record(
                kode_desa=ELSEWHERE,
                kategori="NAPZA",
                nik=NIK,
                nama="Rahasia",
                jenis_kelamin="L",
                tanggal_lahir=date(1980, 3, 9),
                status=RecordStatus.AKTIF,
                versi=1,
                atribut={},
                updated_at=clock.now(),
            )
        )
        return submissions.open_submission(s, SYSTEM, "65.01.01.2005", "2026-Q4", "65").submission.id


def _row():
    return person_row(1, nik=NIK, nama="Budi Santoso", jenis_kelamin="L", tanggal_lahir="1980-03-09", kategori="PGM")


def _assert_secret_free(text):
    for secret in SECRETS:
        assert secret not in text, secret


def test_the_operator_is_not_told_that_a_nik_is_registered_elsewhere(app, db, people, signed_in, statements):
    """Told, an operator could learn by importing which NIKs belong to people receiving services
    anywhere in the province; the kecamatan weighs it, and returns the entry with a reason if need be."""
    sid = _registered_elsewhere(db)
    operator = signed_in("op.desa")
    upload = {"berkas": (io.BytesIO(csv_of([_row()]).encode()), "warga.csv")}
    status = operator.post(
        f"/desa/pengajuan/{sid}/impor",
        upload,
        token_from=f"/desa/pengajuan/{sid}/impor",
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "1 baris" in status and "terdaftar di tempat lain" not in status
    _assert_secret_free(status)
    operator.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    page = operator.get(f"/desa/pengajuan/{sid}").get_data(as_text=True)
    assert "Budi Santoso" in page and "terdaftar di tempat lain" not in page
    _assert_secret_free(page)
    with db.read() as s:
        assert s.scalar(select(Submission.status).where(Submission.id == sid)) == "diajukan"

    # the kecamatan verifier does not cover Long Beluah's kecamatan: the same words, no place
    task = open_task(db, sid, "kecamatan")
    kecamatan = signed_in("verif.kec").get(f"/tugas/{task.id}").get_data(as_text=True)
    assert "juga terdaftar di tempat lain" in kecamatan
    _assert_secret_free(kecamatan)
    with db.read() as s:
        flag_id = s.scalar(
            select(QualityFlag.id).where(
                QualityFlag.submission_id == sid, QualityFlag.rule == "duplikat_nik_tempat_lain"
            )
        )
    with db.transaction() as s:
        decide_task(s, "verif.kec", task.id, "approve", acknowledgements={flag_id: "diteruskan ke kabupaten"})

    # the kabupaten verifier covers both desa, and the province's auditor reads both
    task = open_task(db, sid, "kabupaten")
    verifier = signed_in("verif.kab")
    statements.clear()
    kabupaten = verifier.get(f"/tugas/{task.id}").get_data(as_text=True)
    assert f"tercatat di desa {ELSEWHERE} Long Beluah sebagai Korban Penyalahgunaan NAPZA" in kabupaten
    # the category names serve the cards and the note: read once
    assert len([q for q in statements if q.startswith("SELECT category.kode, category.nama")]) == 1
    verifier.post("/bahasa", {"lang": "en", "next": "/tugas/"}, token_from="/tugas/")
    english = verifier.get(f"/tugas/{task.id}").get_data(as_text=True)
    assert "NIK: also registered elsewhere; check whether it is the same person" in english
    assert f"registered in desa {ELSEWHERE} Long Beluah as" in english
    verifier.post("/bahasa", {"lang": "id", "next": "/tugas/"}, token_from="/tugas/")
    with db.read() as s:
        instance_id = s.scalar(select(Submission.instance_id).where(Submission.id == sid))
    audit_page = signed_in("auditor.prov").get(f"/audit/instans/{instance_id}").get_data(as_text=True)
    assert f"tercatat di desa {ELSEWHERE}" in audit_page
    assert signed_in("auditor.kab.lain").get(f"/audit/instans/{instance_id}").status_code == 404


def test_the_operator_learns_nothing_more_on_the_command_line(db, people, instance_dir, tmp_path):
    from web.cli import main

    sid = _registered_elsewhere(db)
    path = tmp_path / "warga.csv"
    path.write_text(csv_of([_row()]))
    env = {
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "SIJOSKU_INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test",
    }
    runner = CliRunner()
    imported = runner.invoke(
        main,
        ["submission", "import", str(sid), str(path), "--user", "op.desa", "--json"],
        env=env,
        catch_exceptions=False,
    )
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.stdout)
    assert report["warnings"] == []  # the kecamatan is told, on its task
    submitted = runner.invoke(
        main, ["submission", "submit", str(sid), "--user", "op.desa"], env=env, catch_exceptions=False
    )
    assert submitted.exit_code == 0, submitted.output
    for output in (imported.output, imported.stderr, submitted.output, submitted.stderr):
        _assert_secret_free(output)
