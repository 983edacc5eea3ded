"""The built wheel is complete: installed without the source tree, it deploys the default process,
renders email and serves the manual with its screenshots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installs_without_the_source_tree_and_works(tmp_path):
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT), cwd=tmp_path)
    wheel = next(dist.glob("sijosku-*.whl"))
    fresh = tmp_path / "fresh"
    _run(sys.executable, "-m", "venv", "--without-pip", str(fresh), cwd=tmp_path)
    site = Path(
        _run(
            str(fresh / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=tmp_path,
        ).strip()
    )
    # The dependencies come from this environment's site-packages, added as a plain path: its own .pth
    # files (among them the editable install pointing at the source tree) are not read from there.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel), cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SIJOSKU_INSTANCE_DIR": str(work / "instance")}
    python = str(fresh / "bin" / "python")
    where = _run(python, "-c", "import engine, notifications, workflows; print(engine.__file__)", cwd=work, env=env)
    assert str(site) in where and str(ROOT) not in where

    result = json.loads(_run(python, "-m", "web.cli", "init", "--json", cwd=work, env=env))
    assert result["definisi"] == [
        {
            "file": "rekonsiliasi_tahunan.bpmn",
            "process_key": "rekonsiliasi_tahunan",
            "version": 1,
            "created": True,
            "reactivated": False,
            "previous_version": None,
            "current": True,
            "current_version": 1,
        },
        {
            "file": "verifikasi_berjenjang.bpmn",
            "process_key": "verifikasi_berjenjang",
            "version": 1,
            "created": True,
            "reactivated": False,
            "previous_version": None,
            "current": True,
            "current_version": 1,
        },
    ]
    rendered = _run(
        python,
        "-c",
        (
            "from engine.core import events\n"
            "from engine.core.config import load_settings\n"
            "from models import User\n"
            "from notifications.templates import render, render_bundle\n"
            "s = load_settings()\n"
            "m = render(events.CycleOpened(periode='2027-Q1', region_kode='65', dibuka=482), User(username='op'), s)\n"
            "b = render_bundle(User(username='op'), [{'judul': 'A', 'isi': 'a', 'tautan': '/desa/'}] * 2, s)\n"
            "print(m.subject); print(m.html); print(b[0])"
        ),
        cwd=work,
        env={**env, "SIJOSKU_BASE_URL": "https://x"},
    )
    assert "Siklus pemutakhiran 2027-Q1 dibuka" in rendered and "https://x/desa/" in rendered
    assert "SIJOSKU: 2 pemberitahuan baru" in rendered  # the mail templates ship in the wheel

    served = _run(
        python,
        "-c",
        (
            "from web.app import create_app\n"
            "client = create_app().test_client()\n"
            "page = client.get('/bantuan/admin'); shot = client.get('/bantuan/gambar/admin-migrasi.png')\n"
            "print(page.status_code, shot.status_code, shot.mimetype, len(shot.data))\n"
            "print('admin-migrasi.png' in page.get_data(as_text=True))"
        ),
        cwd=work,
        env=env,
    ).split()
    assert served[:3] == ["200", "200", "image/png"] and int(served[3]) > 1000 and served[4] == "True", served
