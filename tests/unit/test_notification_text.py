"""What a notification tells its reader: where to find the work it announces."""

from __future__ import annotations

from tempfile import gettempdir

from engine.core import events
from engine.core.config import load_settings
from models import User
from notifications import templates


def _new_task(tingkat: str) -> templates.Message:
    task = events.TaskCreated(
        task_id=7,
        nama="Verifikasi kecamatan" if tingkat != "desa" else "Siapkan dan ajukan data desa",
        tingkat=tingkat,
        region_kode="65.01.01.2005",
        kode_desa="65.01.01.2005",
        periode="2026-Q4",
        submission_id=3,
    )
    env = {"SECRET_KEY": "x", "SIJOSKU_BASE_URL": "https://sijosku.test", "SIJOSKU_INSTANCE_DIR": gettempdir()}
    settings = load_settings(env)
    return templates.render(task, User(username="u", nama="Ayu"), settings, "Gunung Putih")


def test_a_new_task_says_where_its_person_finds_it():
    """An operator has no task inbox: the desa's work is in the menu of desa submissions."""
    operator, verifier = _new_task("desa"), _new_task("kecamatan")
    assert "menunggu di menu Pengajuan desa." in operator.text_body and "kotak tugas" not in operator.html
    assert "menunggu di kotak tugas Anda." in verifier.text_body
