"""Demo users and submissions with realistic, valid data, for trying the product out."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.actors import Actor
from engine.core.periods import reference_date
from engine.core.uow import Database
from engine.people import users
from engine.quality.nik import compose
from engine.setup import dukcapil_sim
from engine.verification import imports, submissions
from engine.verification.items import ITEM_COLUMNS
from models import Category, Region, Submission, SubmissionItem, SubmissionStatus, Tier, User

DEMO_PASSWORD = "sijosku-demo"
FIRST_MALE = [
    "Ahmad",
    "Budi",
    "Yohanes",
    "Agus",
    "Dedi",
    "Rudi",
    "Markus",
    "Hendrik",
    "Irwan",
    "Sulaiman",
    "Bambang",
    "Stefanus",
    "Yusuf",
    "Lukas",
    "Rahmat",
    "Daniel",
]
FIRST_FEMALE = [
    "Siti",
    "Maria",
    "Dewi",
    "Nur",
    "Yuliana",
    "Fitri",
    "Lestari",
    "Agustina",
    "Rosa",
    "Wati",
    "Theresia",
    "Aminah",
    "Rina",
    "Margaretha",
    "Sri",
    "Halimah",
]
LAST = [
    "Lunjen",
    "Laing",
    "Ingan",
    "Pebaya",
    "Sulaiman",
    "Saragih",
    "Hasan",
    "Batoq",
    "Usat",
    "Bilung",
    "Pasolang",
    "Ramli",
    "Simanjuntak",
    "Wijaya",
    "Tingang",
    "Aran",
]
STREETS = [
    "Jl. Sengkawit",
    "Jl. Jelarai",
    "Jl. Sabanar Lama",
    "Jl. Gunung Sari",
    "Jl. Pelabuhan",
    "Jl. Diponegoro",
    "Jl. Padat Karya",
    "RT 03 Dusun Sungai",
]


def nik_for(kode_desa: str, born: date, sex: str, serial: int) -> str:
    """A well-formed NIK first issued in the desa's kecamatan: women have 40 added to the day."""
    return compose(kode_desa[:8], born, sex, serial)


def _years_before(on: date, years: int) -> date:
    """The same day `years` earlier (28 February for a 29 February in a year without one)."""
    return on.replace(year=on.year - years, day=28 if (on.month, on.day) == (2, 29) else on.day)


def person(rng: random.Random, kode_desa: str, category: Category, on: date, serial: int) -> dict[str, Any]:
    sex = category.jenis_kelamin or rng.choice("LP")
    low, high = category.usia_min or 0, category.usia_max if category.usia_max is not None else 80
    # counted from the day the youngest turns `low`, as an age is, so leap days never make anyone too young
    born = _years_before(on, low) - timedelta(days=rng.randint(1, (high - low) * 365 + 299))
    first = rng.choice(FIRST_MALE if sex == "L" else FIRST_FEMALE)
    kk_date = f"{rng.randint(10, 28):02d}{rng.randint(1, 12):02d}{rng.randint(0, 24):02d}"  # date of issue
    kk = f"{kode_desa[:8].replace('.', '')}{kk_date}{rng.randint(1, 9999):04d}"
    return {
        "nik": nik_for(kode_desa, born, sex, serial),
        "no_kk": kk,
        "nama": f"{first} {rng.choice(LAST)}",
        "jenis_kelamin": sex,
        "tanggal_lahir": born.isoformat(),
        "alamat": f"{rng.choice(STREETS)} No. {rng.randint(1, 120)}",
        "kategori": category.kode,
        "keterangan": "hasil musyawarah desa",
    }


def demo_csv(rows: list[dict[str, Any]]) -> str:
    lines = [",".join(ITEM_COLUMNS)]
    lines += [",".join(str(r[c]).replace(",", " ") for c in ITEM_COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


def _users(session: Session, desa: list[Region], province: str) -> list[str]:
    actor = Actor.system("demo")
    created = []
    plan = [("admin", "admin", province), ("auditor", "auditor", province), ("validator.prov", "validator", province)]
    # the year's reconciliation: the province's walidata, the Forum SDI and the head who signs
    plan += [("walidata.prov", "walidata", province), ("forum.sdi", "forum_sdi", province)]
    plan += [("kepala.dinas", "kepala_dinas", province)]
    for region in desa:
        kab, kec = region.kode[:5], region.kode[:8]
        plan += [
            (f"walidata.kab.{kab.replace('.', '')}", "walidata", kab),
            (f"verif.kab.{kab.replace('.', '')}", "verifier", kab),
            (f"verif.kec.{kec.replace('.', '')}", "verifier", kec),
            (f"operator.{region.kode.replace('.', '')}", "operator", region.kode),
        ]
    for username, role, code in plan:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            created.append(username)
        users.add_user(session, actor, username, role, code, password=DEMO_PASSWORD)
    return created


def has_users(db: Database) -> bool:
    with db.read() as session:
        return session.scalar(select(User.id).limit(1)) is not None


def population_csv(rows: list[dict[str, Any]]) -> str:
    """The demo's people as the civil registry knows them, for `sijosku dukcapil-sim --population`:
    the first person of every five died, the second is registered under another name; the rest
    match exactly."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=dukcapil_sim.COLUMNS, lineterminator="\n")
    writer.writeheader()
    for index, row in enumerate(rows):
        writer.writerow(
            {
                "nik": row["nik"],
                "nama": "Nama Menurut Dukcapil" if index % 5 == 1 else row["nama"],
                "tanggal_lahir": row["tanggal_lahir"],
                "jenis_kelamin": row["jenis_kelamin"],
                "no_kk": row["no_kk"],
                "kode_wilayah": row["kode_desa"],
                "status_hidup": "meninggal" if index % 5 == 0 else "hidup",
            }
        )
    return out.getvalue()


def _entered(session: Session, submission_id: int, kode_desa: str) -> list[dict[str, Any]]:
    """The people of a demo submission made before, as the population file writes them."""
    fields = ("nik", "nama", "tanggal_lahir", "jenis_kelamin", "no_kk")
    entered = session.scalars(
        select(SubmissionItem.data)
        .where(SubmissionItem.submission_id == submission_id, SubmissionItem.nik.is_not(None))
        .order_by(SubmissionItem.id)
    )
    return [{**{f: data.get(f) or "" for f in fields}, "kode_desa": kode_desa} for data in entered]


def _empty_draft(session: Session, submission: Submission) -> bool:
    """A draft nobody has entered anything in yet (a cycle opened before the demo was made): the
    demo's people go in it, as they would into one the demo opened itself."""
    if submission.status != SubmissionStatus.DRAF:
        return False
    first_item = select(SubmissionItem.id).where(SubmissionItem.submission_id == submission.id).limit(1)
    return session.scalar(first_item) is None


def create_demo(
    db: Database,
    desa_count: int = 3,
    records_per_desa: int = 10,
    periode: str | None = None,
    seed: int = 65,
    people: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Users and draft submissions with valid data; the people imported are added to `people` when
    given (for the Dukcapil simulator's population)."""
    province = db.settings.province
    today = clock.today()
    periode = periode or f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    rng = random.Random(seed)
    with db.transaction() as session:
        desa = list(
            session.scalars(
                select(Region)
                .where(Region.tingkat == Tier.DESA, Region.kode.like(f"{province}.%"))
                .order_by(Region.kode)
                .limit(desa_count)
            )
        )
        created_users = _users(session, desa, province)
        categories = list(
            session.scalars(select(Category).where(Category.jenis == "PPKS", Category.satuan == "individu"))
        )
    opened = []
    for index, region in enumerate(desa):
        with db.transaction() as session:
            result = submissions.open_submission(
                session, Actor.system("demo"), region.kode, periode, province, db.settings.default_sla
            )
            filled = result.created or _empty_draft(session, result.submission)
            if filled:
                on = reference_date(periode)
                first = index * records_per_desa + 1  # serials unique across desa of one kecamatan
                rows = [
                    person(rng, region.kode, rng.choice(categories), on, serial % 10000 or 1)
                    for serial in range(first, first + records_per_desa)
                ]
                imports.import_items(session, Actor.system("demo"), result.submission.id, demo_csv(rows))
                if people is not None:
                    people.extend({**r, "kode_desa": region.kode} for r in rows)
            elif people is not None:  # made by an earlier run: its people as they were entered
                people.extend(_entered(session, result.submission.id, region.kode))
            opened.append({"submission_id": result.submission.id, "kode_desa": region.kode, "created": filled})
    return {"periode": periode, "pengguna_baru": created_users, "pengajuan": opened, "kata_sandi": DEMO_PASSWORD}
