"""API reads per second through the real server (waitress, `sijosku run`) with a load tool (`hey`,
Debian package `hey`) from a second process on loopback.

Fills an empty database (records spread over the province's desa; figures for every region,
category and four periods), makes an agency token for the whole province, starts the server as its
own process and loads four reads in turn: a page of figures, a page of records with masked NIKs,
one record, and a page of records with full NIKs (each of those reads is written to the audit
trail). Every answer must be 200.

Usage: python bench/api.py [--database-url URL] [--records N] [--seconds S] [--concurrency C]
The default database is a fresh SQLite file; --database-url must name an empty database.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# the project's root, before any import of the standard `http` (urllib's): bench/http.py would shadow it
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import urllib.request  # noqa: E402

from sqlalchemy import insert, select, text

from bench.fixtures import empty_database, fill_records, province_desa
from bench.http import unanswered
from engine.core.actors import Actor
from engine.core.uow import Database
from engine.people import tokens
from models import AggregateValue, Category, Record, Region

ROOT = Path(__file__).resolve().parent.parent
PERIODS = ["2023", "2024", "2025", "2026-Q4"]


def fill_figures(db: Database, rng: random.Random) -> int:
    with db.read() as s:
        regions = list(s.scalars(select(Region.kode).where(Region.kode.like("65%"))))
        kinds = list(s.scalars(select(Category.kode)))
    rows = [
        {
            "region_kode": r,
            "kategori": k,
            "periode": p,
            "nilai": rng.randint(0, 500),
            "sumber": "dinsos",
            "imported_at": datetime.now(UTC),
        }
        for r in regions
        for k in kinds
        for p in PERIODS
    ]
    for start in range(0, len(rows), 20_000):
        with db.transaction() as s:
            s.execute(insert(AggregateValue), rows[start : start + 20_000])
    return len(rows)


def make_token(db: Database, sees_nik: bool) -> str:
    request = tokens.TokenRequest("BENCH", "65", ("agregat", "catatan"), sees_nik=sees_nik, rate_limit="900000/minute")
    with db.transaction() as s:
        return tokens.create_token(s, Actor.system("bench"), request).secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, instance: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": instance, "SECRET_KEY": "bench"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/sijosku"), "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("server tidak siap dalam 20 detik")


def load(url: str, token: str, seconds: int, concurrency: int) -> dict[str, str]:
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-H", f"Authorization: Bearer {token}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    if any(code != "200" for code, _ in codes) or unanswered(out):
        sys.exit(f"ada jawaban bukan 200 atau permintaan gagal untuk {url}: {codes}, {unanswered(out)} gagal")
    return {
        "rps": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1),  # type: ignore[union-attr]
        "p50": re.search(r"50% in ([\d.]+) secs", out).group(1),  # type: ignore[union-attr]
        "p95": re.search(r"95% in ([\d.]+) secs", out).group(1),  # type: ignore[union-attr]
        "n": str(sum(int(n) for _, n in codes)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("hey") is None:
        sys.exit("alat beban `hey` tidak ada: apt-get install -y hey")
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(args.database_url, tmp, "api")
        url = db.engine.url.render_as_string(hide_password=False)
        print(f"Mengisi {args.records:,} catatan dan angka agregat ...")
        fill_records(db, args.records, province_desa(db), rng)
        figures = fill_figures(db, rng)
        masked, full = make_token(db, False), make_token(db, True)
        if db.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        with db.read() as s:
            record_id = s.scalar(select(Record.id).order_by(Record.id).offset(args.records // 2).limit(1))
        db.dispose()
        port = free_port()
        server = start_server(url, tmp, port)
        base = f"http://127.0.0.1:{port}/api/v1"
        reads = [
            (
                "angka agregat, 100 per halaman (wilayah 65.01)",
                f"{base}/aggregates?wilayah=65.01&page_size=100",
                masked,
            ),
            ("catatan, NIK disamarkan, 100 per halaman", f"{base}/records?wilayah=65.01&page_size=100&page=3", masked),
            ("satu catatan, NIK disamarkan", f"{base}/records/{record_id}", masked),
            ("catatan, NIK lengkap (100 baris jejak audit)", f"{base}/records?wilayah=65.01&page_size=100", full),
        ]
        try:
            print(
                f"{platform.machine()}, {os.cpu_count()} inti, Python {platform.python_version()}, "
                f"{db.engine.dialect.name}; {figures:,} angka; hey -z {args.seconds}s -c {args.concurrency}"
            )
            print(f"{'bacaan':<48} {'permintaan/s':>12} {'p50 ms':>8} {'p95 ms':>8} {'jumlah':>8}")
            for label, target, token in reads:
                found = load(target, token, args.seconds, args.concurrency)
                print(
                    f"{label:<48} {float(found['rps']):>12.1f} {float(found['p50']) * 1000:>8.1f} "
                    f"{float(found['p95']) * 1000:>8.1f} {found['n']:>8}"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
