"""The list of regions over time: every change as the auditors and administrators read it, and each
region's name as it was at a moment (a determination names the regions as its decree did)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core import rows
from engine.core.actors import Actor
from engine.people import administration
from engine.people.scope import Scope
from models import Region, RegionChange, User

NAMES_CHUNK = 500  # codes per IN list


def names_at(session: Session, moment: datetime, codes: Iterable[str]) -> dict[str, str]:
    """The name of each of `codes` as it was at `moment` (a determination's approval): today's, with
    each renamed since given its name from before the first change after that moment. Only the
    regions asked for are read, `NAMES_CHUNK` codes at a time."""
    names: dict[str, str] = {}
    for chunk in rows.chunks(sorted(set(codes)), NAMES_CHUNK):
        names.update(_names_at(session, moment, chunk))
    return names


def _names_at(session: Session, moment: datetime, codes: list[str]) -> dict[str, str]:
    names = {
        kode: nama for kode, nama in session.execute(select(Region.kode, Region.nama).where(Region.kode.in_(codes)))
    }
    later = session.execute(
        select(RegionChange.kode, RegionChange.nama_sebelum)
        .where(RegionChange.kode.in_(codes), RegionChange.created_at > moment, RegionChange.nama_sebelum.is_not(None))
        .order_by(RegionChange.id.desc())
    )
    names.update({kode: before or names[kode] for kode, before in later})  # the earliest change is applied last
    return names


HISTORY_LIMIT = 5_000  # changes an auditor's page lists (a decree changes tens; the admin's page lists 200)


def history(session: Session, actor: Actor, limit: int = 200) -> list[tuple[RegionChange, str | None]]:
    """The latest changes to the list, newest first, with who applied them: for the province's
    administrators and for any auditor (the list is reference data of the whole province)."""
    if Scope.auditing(actor).empty:
        administration.require_admin(actor).require_province()
    found = session.execute(
        select(RegionChange, User.username)
        .outerjoin(User, User.id == RegionChange.user_id)
        .order_by(RegionChange.id.desc())
        .limit(limit)
    )
    return [(change, username) for change, username in found]
