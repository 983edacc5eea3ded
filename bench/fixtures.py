"""Filling a benchmark database quickly with Core bulk inserts."""

from __future__ import annotations

import cProfile
import pstats
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, event, func, insert, select

from engine.bootstrap import bootstrap
from engine.core.config import load_settings
from engine.core.uow import Database
from engine.setup.initialise import initialise
from models import Category, Record, Region, Tier

BATCH = 20_000
NAMES = ["Maria", "Yohanes", "Siti", "Ahmad", "Dewi", "Budi", "Agustina", "Markus", "Halimah", "Rudi"]


def province_desa(db: Database, province: str = "65") -> list[str]:
    with db.read() as s:
        return list(
            s.scalars(select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like(f"{province}.%")))
        )


def fill_records(db: Database, count: int, desa: list[str], rng: random.Random) -> None:
    """`count` active PPKS records spread over `desa`, with well-formed, mostly distinct NIKs."""
    with db.read() as s:
        kinds = list(s.scalars(select(Category.kode).where(Category.jenis == "PPKS")))
    born = date(1940, 1, 1)
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(count, start + BATCH)):
            code = desa[i % len(desa)]
            rows.append(
                {
                    "kode_desa": code,
                    "kategori": kinds[i % len(kinds)],
                    "nik": f"{code[:8].replace('.', '')}{i % 28 + 1:02d}{i % 12 + 1:02d}{i % 90 + 10:02d}"
                    f"{i % 9999 + 1:04d}",
                    "no_kk": None,
                    "nama": f"{rng.choice(NAMES)} {i}",
                    "jenis_kelamin": "LP"[i % 2],
                    "tanggal_lahir": born + timedelta(days=i % 25000),
                    "alamat": "",
                    "keterangan": "",
                    "atribut": {},
                    "status": "aktif",
                    "versi": 1,
                    "updated_at": datetime.now(UTC),
                }
            )
        with db.transaction() as s:
            s.execute(insert(Record), rows)
        print(f"  catatan {min(count, start + BATCH):>9,}", end="\r", flush=True)
    print()


def empty_database(url: str | None, tmp: str, name: str) -> Database:
    """A migrated, seeded database that holds no records yet: `url`, or a fresh SQLite file in `tmp`."""
    url = url or f"sqlite:///{Path(tmp) / f'{name}.db'}"
    db = bootstrap(
        Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": tmp, "SECRET_KEY": "bench"}))
    )
    initialise(db)
    with db.read() as s:
        if s.scalar(select(func.count()).select_from(Record)):
            sys.exit(f"{url} sudah berisi catatan; beri basis data kosong yang boleh diisi")
    return db


def python_calls(run: Callable[[int], object], n: int) -> float:
    """Python function calls per unit of `run(n)`: unlike time, the same on a busy machine."""
    profile = cProfile.Profile()
    profile.enable()
    run(n)
    profile.disable()
    return pstats.Stats(profile).total_calls / n  # type: ignore[attr-defined, no-any-return]


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[int]]:
    """A one-item list counting the statements `engine` sends while the block runs."""
    sent = [0]

    def count(*_: object) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)
