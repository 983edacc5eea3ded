"""Duplicate checks against the register: alarms on clean re-verification files, recall on second registrations.

Most files a desa sends are not its first: they re-verify the people its register already holds.
Each round builds, with the desa files of `bench/records.py`:
- the desa's register: last period's people, as active records;
- a neighbouring desa's register, and a few of its people who moved here, their record there ended;
- the rest of the province's register (`--province` people in its other desa, born, named and
  issued their NIKs alike), against which nothing in the file is a second registration;
- this period's file as the operator keys it: the register's people found again (a few gone, died or
  moved; names and addresses of some keyed anew in other letters), new people, and those who moved in.

Every record rule an upload runs (`record_rules.check_rows`) judges each file against the register.
It prints the share of clean rows with an alarm (an error or a warning), per rule, with 95 % Wilson
intervals, and the recall of second registrations planted in copies of the file, per kind.

    python bench/register_duplicates.py [--files 40] [--rows 150] [--province 50000] [--seed 11]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, select

from bench.fixtures import empty_database
from bench.records import CHILDREN, DESA, PLANTS_PER_FILE, Desa, Tally, alarms, clean_file, places
from engine.core.uow import Database
from models import Record, RecordStatus, Region, Tier

GONE, NEW, MOVED_IN, KEYED_ANEW = 0.03, 0.04, 0.02, 0.10  # shares of the register's people
Rows = list[dict[str, str]]


def neighbour(session: object) -> str:
    """Another desa of the same kecamatan."""
    kecamatan = DESA.rsplit(".", 1)[0]
    return session.scalars(  # type: ignore[attr-defined,no-any-return]
        select(Region.kode)
        .where(Region.tingkat == Tier.DESA, Region.kode.like(f"{kecamatan}.%"), Region.kode != DESA)
        .order_by(Region.kode)
    ).first()


def province(db: Database, desa: Desa, people: int, rng: random.Random, keyed_again: float) -> set[str]:
    """`people` active records in the province's other desa, each desa's people issued their NIKs
    mostly in its own kecamatan; returns the NIKs given out."""
    with db.read() as session:
        others = list(
            session.scalars(
                select(Region.kode).where(
                    Region.tingkat == Tier.DESA, Region.kode.like("65.%"), Region.kode.not_like(f"{DESA[:8]}%")
                )
            )
        )
    rows = []
    while len(rows) < people:
        code = rng.choice(others)
        own = code.rsplit(".", 1)[0]
        there = Desa([own] + [k for k in desa.kecamatan if k != own], desa.elsewhere, desa.serials)
        rows += [_record(r, code, RecordStatus.AKTIF) for r in clean_file(there, rng, 150, keyed_again)]
    with db.transaction() as session:
        for start in range(0, people, 10_000):
            session.execute(insert(Record), rows[start : min(people, start + 10_000)])
    return set(desa.serials)


def _record(row: dict[str, str], desa: str, status: RecordStatus) -> dict[str, object]:
    return {
        "kode_desa": desa,
        "kategori": row["kategori"],
        "nik": row["nik"] or None,
        "no_kk": row["no_kk"] or None,
        "nama": row["nama"],
        "jenis_kelamin": row["jenis_kelamin"],
        "tanggal_lahir": date.fromisoformat(row["tanggal_lahir"]),
        "alamat": row["alamat"],
        "keterangan": "",
        "atribut": {},
        "status": status,
        "versi": 1,
        "updated_at": datetime.now(UTC),
    }


def _keyed_anew(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """The same person, their name or address written in other letters this time."""
    again = dict(row)
    if rng.random() < 0.5:
        again["nama"] = row["nama"].upper() if rng.random() < 0.5 else "  ".join(row["nama"].split())
    else:
        again["alamat"] = row["alamat"].replace("RT ", "Rt.").replace(" RW ", "/Rw.")
    return again


class Round:
    """One desa's register, its neighbour's, and this period's clean file."""

    def __init__(self, desa: Desa, rng: random.Random, rows: int, keyed_again: float) -> None:
        self.register = clean_file(desa, rng, rows, keyed_again)
        self.theirs = clean_file(desa, rng, rows, keyed_again)
        moved = rng.sample(range(len(self.theirs)), max(1, round(MOVED_IN * rows)))
        self.moved_in = [self.theirs[i] for i in moved]
        self.staying = [r for i, r in enumerate(self.theirs) if i not in set(moved)]
        found = [r for r in self.register if rng.random() >= GONE]
        found = [_keyed_anew(r, rng) if rng.random() < KEYED_ANEW else r for r in found]
        self.file = found + clean_file(desa, rng, max(1, round(NEW * rows)), keyed_again) + self.moved_in
        rng.shuffle(self.file)

    def records(self, here: str, there: str) -> list[dict[str, object]]:
        return (
            [_record(r, here, RecordStatus.AKTIF) for r in self.register]
            + [_record(r, there, RecordStatus.AKTIF) for r in self.staying]
            + [_record(r, there, RecordStatus.DIHAPUS) for r in self.moved_in]
        )


# A second registration planted at row i of a copy of the file, from the round's registers.
Plant = Callable[[Rows, int, Round, random.Random], None]


def _still_there(rows: Rows, i: int, round_: Round, rng: random.Random) -> None:
    rows[i] = dict(rng.choice([r for r in round_.staying if r["kategori"] != "FM"]))


def _family_still_there(rows: Rows, i: int, round_: Round, rng: random.Random) -> None:
    families = [r for r in round_.staying if r["kategori"] == "FM"] or round_.staying
    rows[i] = dict(rng.choice(families), kategori="FM")


def _other_band(rows: Rows, i: int, round_: Round, rng: random.Random) -> None:
    was = rng.choice([r for r in round_.register if r["kategori"] != "FM"])
    rows[i] = dict(was, kategori="LUT" if was["kategori"] in CHILDREN else "ABT")


def _slipped(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """The row with one digit of the NIK's serial keyed wrong."""
    nik, position = row["nik"], rng.randint(12, 15)
    digit = rng.choice([d for d in "0123456789" if d != nik[position]])
    return dict(row, nik=nik[:position] + digit + nik[position + 1 :])


def _nik_slipped(rows: Rows, i: int, round_: Round, rng: random.Random) -> None:
    rows[i] = _slipped(rng.choice([r for r in round_.register if r["kategori"] != "FM"]), rng)


def _still_there_slipped(rows: Rows, i: int, round_: Round, rng: random.Random) -> None:
    rows[i] = _slipped(rng.choice([r for r in round_.staying if r["kategori"] != "FM"]), rng)


def _without_nik(rows: Rows, i: int, round_: Round, rng: random.Random) -> None:
    was = rng.choice([r for r in round_.register if r["kategori"] != "FM"])
    rows[i] = dict(was, nik="", kategori="FM" if was["kategori"] != "FM" else "LUT")


PLANTS: dict[str, tuple[Plant, set[str]]] = {
    "on another desa's register, still there": (_still_there, {"duplikat_nik_tempat_lain"}),
    "a family on another desa's register": (_family_still_there, {"duplikat_kk_tempat_lain"}),
    "a register person again, bands apart": (_other_band, {"duplikat_kategori", "kategori_usia"}),
    "a register person keyed anew, NIK slipped": (_nik_slipped, {"nik_salah_ketik"}),
    "a register person keyed anew, no NIK": (_without_nik, {"duplikat_mirip"}),
    "on another desa's register, NIK slipped": (_still_there_slipped, {"nik_salah_ketik_tempat_lain"}),
}


def measure(files: int, rows: int, people: int, seed: int, keyed_again: float) -> None:
    rng = random.Random(seed)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        db = empty_database(None, tmp, "register")
        with db.read() as session:
            desa, there = places(session), neighbour(session)
        given = province(db, desa, people, rng, keyed_again)
        for _ in range(files):
            desa.serials = set(given)
            round_ = Round(desa, rng, rows, keyed_again)
            with db.sessions() as session:
                session.execute(insert(Record), round_.records(DESA, there))
                tally.clean(alarms(session, round_.file))
                for kind, (plant, rules) in PLANTS.items():
                    copy = [dict(r) for r in round_.file]
                    at = rng.sample(range(len(copy)), PLANTS_PER_FILE)
                    for i in at:
                        plant(copy, i, round_, rng)
                    judged = alarms(session, copy)
                    tally.plantings(kind, len(at), sum(1 for i in at if judged[i] & rules))
                session.rollback()
        db.dispose()
    clean = f"{files} re-verification files of about {rows} rows against the register, {people:,} others"
    tally.print(seed, clean, "second registrations", list(PLANTS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--rows", type=int, default=150)
    parser.add_argument("--province", type=int, default=50_000, help="records in the province's other desa")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keyed-again", type=float, default=0.25)
    args = parser.parse_args()
    if not (0 < args.files <= 1000 and 20 <= args.rows <= 5000 and 0 <= args.province <= 500_000):
        parser.error("--files 1..1000, --rows 20..5000, --province 0..500000")
    if not 0 <= args.keyed_again <= 1:
        parser.error("--keyed-again 0..1")
    measure(args.files, args.rows, args.province, args.seed, args.keyed_again)


if __name__ == "__main__":
    main()
