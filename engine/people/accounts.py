"""Many accounts at once from a table: the operators of a regency's desa, a new team of verifiers.

Each row is a person and the role they take (`username`, `nama`, `peran`, `wilayah`, optionally
`email`). Every row is made the way the people page makes one (`administration.create_user`), in one
transaction: a row that cannot be made refuses the whole file, with every row's reason, and nothing
is written. Each new account gets a first password, returned once to the administrator who hands it
over, and changed by its person at the first sign-in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.core.actors import Actor
from engine.core.errors import Forbidden, Invalid, Problem
from engine.core.tables import csv_text
from engine.people import administration, users

COLUMNS = ["username", "nama", "peran", "wilayah"]  # and, where known, `email`
# A first password is hashed with the production's cost (about 50 ms): a regency's desa (Nunukan has
# 232) fit in one file and one request of a few seconds; more are split into several files.
MAX_ACCOUNTS = 250
MAX_PROBLEMS = 200


@dataclass(frozen=True)
class Made:
    username: str
    nama: str
    peran: str
    wilayah: str
    sandi_awal: str


def first_password(username: str) -> str:
    """Twelve characters from an alphabet without look-alikes (no 0/O, 1/l/I), easy to read aloud; drawn
    again in the rare case it would break a password rule (a short username found in it by chance)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(12))
        if not users.password_problems(password, username):
            return password


def create_many(session: Session, actor: Actor, rows: list[dict[str, str]]) -> list[Made]:
    """Every row's account and role, or `Invalid` naming each row that cannot be made (nothing is kept:
    the caller's transaction is rolled back)."""
    administration.require_admin(actor)
    if len(rows) > MAX_ACCOUNTS:
        raise Invalid(f"Berkas berisi {len(rows)} orang; paling banyak {MAX_ACCOUNTS} sekali unggah: bagi berkasnya")
    made: list[Made] = []
    problems: list[Problem] = []
    for number, row in enumerate(rows, start=2):
        values = {name: (row.get(name) or "").strip() for name in [*COLUMNS, "email"]}
        password = first_password(values["username"].lower())
        try:
            user = administration.create_user(
                session,
                actor,
                values["username"].lower(),
                values["nama"],
                values["email"],
                values["peran"],
                values["wilayah"],
                password,
            )
        except (Invalid, Forbidden) as exc:
            problems += _located(exc, number)
            continue
        session.flush()  # a later row with the same username finds this one
        made.append(Made(user.username, user.nama, values["peran"], values["wilayah"], password))
    if problems:
        raise Invalid("Tidak ada akun yang dibuat", problems[:MAX_PROBLEMS])
    return made


def _located(exc: Invalid | Forbidden, row: int) -> list[Problem]:
    """A row's refusal, each problem on the row and column it is about."""
    column = {"username": "username", "nama": "nama", "email": "email", "region": "wilayah", "password": None}
    if isinstance(exc, Invalid) and exc.problems:
        return [Problem(p.message, row=row, column=column.get(p.column or "", p.column)) for p in exc.problems]
    return [Problem(str(exc), row=row)]


def as_csv(made: list[Made]) -> str:
    """The accounts made and their first passwords, for the administrator to hand over."""
    return csv_text(
        [["username", "nama", "peran", "wilayah", "sandi_awal"]]
        + [[m.username, m.nama, m.peran, m.wilayah, m.sandi_awal] for m in made]
    )
