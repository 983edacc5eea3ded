"""Auditors' use cases: find records, read a record's or an instance's whole history, verify and
export the trail. Auditors read everything in their region and change nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.core import audit, clock, searching
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Forbidden, Invalid, NotFound, Problem
from engine.core.paging import page_of
from engine.core.tables import BOM, neutralised
from engine.people import privacy, sign_in
from engine.people.scope import Scope
from engine.quality.nik import is_sixteen_digits
from engine.verification import linkage, submission_view
from models import WORK_ROLE_OF_TIER, AuditEvent, HumanTask, Record, RecordVersion, Submission, ids_by_nik

WITA = ZoneInfo("Asia/Makassar")


def _auditing(actor: Actor) -> Scope:
    return Scope.auditing(actor).require_any()


@dataclass
class Found:
    record: Record
    nik: str


@dataclass
class Search:
    found: list[Found]  # the first of them, by name
    total: int  # how many match: more than shown means the search should be narrowed


_REGION_CODE = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?")


def _searchable(nik: str, wilayah: str) -> tuple[str, str]:
    """A NIK as written (`6501 0157 0550 0001` too) and a region code, or what is wrong with them:
    a search that cannot match anything says why instead of finding nothing."""
    nik, wilayah = re.sub(r"[\s.-]", "", nik), wilayah.strip()
    problems = []
    if nik and not is_sixteen_digits(nik):
        problems.append(Problem("NIK dicari utuh: 16 angka", column="nik"))
    if wilayah and not _REGION_CODE.fullmatch(wilayah):
        problems.append(Problem("kode wilayah Kemendagri bertitik, mis. 65.01 atau 65.01.01.2005", column="wilayah"))
    if problems:
        raise Invalid("Pencarian belum dapat dijalankan", problems)
    return nik, wilayah


def search_records(
    session: Session,
    actor: Actor,
    nik: str = "",
    nama: str = "",
    wilayah: str = "",
    kategori: str = "",
    limit: int = 100,
) -> Search:
    scope = _auditing(actor)
    nik, wilayah = _searchable(nik, wilayah)
    q = select(Record).where(scope.where(Record.kode_desa))
    if nik:
        allow_nik_search(session, actor)
        # a record whose NIK was corrected is still found by the number it carried before: the number
        # a complaint, an old list or another agency names (its versions keep every value it held)
        q = q.where(Record.id.in_(ids_by_nik(nik)))
    if nama.strip():
        q = q.where(searching.containing(Record.nama, nama.strip()))
    if wilayah.strip():
        code = wilayah.strip()
        q = q.where((Record.kode_desa == code) | Record.kode_desa.like(f"{code}.%"))
    if kategori.strip():
        q = q.where(Record.kategori == kategori.strip())
    found = [
        Found(r, r.nik if privacy.sees_full_nik(actor, r.kode_desa) else privacy.mask_nik(r.nik))
        for r in session.scalars(q.order_by(Record.nama, Record.id).limit(limit))
    ]
    total = len(found) if len(found) < limit else session.scalar(select(func.count()).select_from(q.subquery())) or 0
    if nik.strip():
        nik_searched(session, actor, nik.strip(), total)
    return Search(found, total)


def nik_searched(session: Session, actor: Actor, nik: str, found: int) -> None:
    """A search by NIK answers whether a number is on the register, found or not: on the trail."""
    audit.record(session, actor, AuditAction.NIK_SEARCHED, "ppks_record", "*", after={"nik": nik, "ditemukan": found})


# Searches by NIK a person may make in an hour. A masked NIK shows the region of issue, and a record
# beside it the birth date: only the four-digit serial is unknown, and guessing it by searching would
# take thousands of searches. These are bounded, and each is on the trail.
NIK_SEARCHES_PER_HOUR = 60


def allow_nik_search(session: Session, actor: Actor) -> None:
    since = clock.now() - timedelta(hours=1)
    made = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor == actor.name, AuditEvent.action == AuditAction.NIK_SEARCHED, AuditEvent.at >= since)
    )
    if (made or 0) >= NIK_SEARCHES_PER_HOUR:
        raise sign_in.Throttled(
            f"Sudah {NIK_SEARCHES_PER_HOUR} pencarian dengan NIK dalam satu jam terakhir; coba lagi nanti, "
            "atau cari dengan nama dan wilayah"
        )


def _record(session: Session, actor: Actor, record_id: int) -> Record:
    scope = _auditing(actor)
    record = session.get(Record, record_id)
    if record is None or not scope.contains(record.kode_desa):
        raise NotFound(f"Catatan {record_id} tidak ada")
    return record


@dataclass
class Version:
    version: RecordVersion
    changes: list[tuple[str, Any, Any]]
    role: str
    tier: str | None
    task: str | None
    trail: list[dict[str, Any]]
    instance_id: int | None
    periode: str | None  # the period of the submission that wrote it (none for a change of region)


def record_timeline(
    session: Session, actor: Actor, record_id: int, nik_revealed: bool = False
) -> tuple[Record, list[Version]]:
    """Every version of the record; NIK and KK masked unless the actor sees them in full. Once the
    auditor has revealed the NIK with a reason (`reveal_nik`, on the trail), every NIK the record held
    is shown: a corrected NIK would otherwise read as two identical masks."""
    record = _record(session, actor, record_id)
    masked = not privacy.sees_full_nik(actor, record.kode_desa)
    # a person's name, birth date and address over the years: the look is recorded, as an instance's is
    audit.record(session, actor, AuditAction.TRAIL_VIEWED, "ppks_record", record.id)
    versions = session.scalars(
        select(RecordVersion).where(RecordVersion.record_id == record.id).order_by(RecordVersion.versi)
    ).all()
    periods = dict(
        session.execute(
            select(Submission.id, Submission.periode).where(Submission.id.in_({v.submission_id for v in versions}))
        ).all()
    )
    tasks = {
        t.id: t for t in session.scalars(select(HumanTask).where(HumanTask.id.in_({v.human_task_id for v in versions})))
    }
    decided = submission_view.decisions_of(session, {t.instance_id for t in tasks.values()})
    result = []
    for v in versions:
        task = tasks.get(v.human_task_id or 0)
        changes = [
            (name, *_shown(name, before, after, masked and not (nik_revealed and name == "nik")))
            for name, (before, after) in v.perubahan.items()
        ]
        result.append(
            Version(
                v,
                changes,
                WORK_ROLE_OF_TIER[task.tingkat].value if task else v.source.value,
                task.tingkat.value if task else None,
                task.nama if task else None,
                decided.get(task.instance_id, []) if task else [],
                task.instance_id if task else None,
                periods.get(v.submission_id or 0),
            )
        )
    return record, result


@dataclass
class Links:
    """What other registers say about the record's person (`_linkage.html` shows it)."""

    nik_check: linkage.NikView
    dtsen: linkage.DtsenView | None


def record_links(session: Session, actor: Actor, record_id: int) -> Links:
    record = _record(session, actor, record_id)
    checks = linkage.nik_statuses(session, [record.id])
    found = linkage.dtsen_for(session, [(record.nik, record.no_kk)])
    return Links(checks.get(record.id, linkage.NikView.unchecked()), found.get((record.nik, record.no_kk)))


def _shown(name: str, before: Any, after: Any, masked: bool) -> tuple[Any, Any]:
    """A version's change as the viewer reads it: NIK and family card number masked, anywhere."""
    if masked:
        return privacy.mask_personal(before, name), privacy.mask_personal(after, name)
    return before, after


def reveal_nik(session: Session, actor: Actor, record_id: int, reason: str) -> str:
    record = _record(session, actor, record_id)
    return privacy.reveal_nik(session, actor, record.id, record.nik or "", reason)


def _event_shown(event: AuditEvent, masked: bool) -> dict[str, Any]:
    """An event as a page shows it: the values before and after with NIK and KK masked."""
    shown = {c: getattr(event, c) for c in EXPORT_COLUMNS}
    if masked:
        shown["before"] = privacy.mask_personal(event.before)
        shown["after"] = privacy.mask_personal(event.after)
        shown["reason"] = privacy.mask_personal(event.reason)
    return shown


EVENTS_PAGE, ITEMS_PAGE = 200, 50  # a kelurahan's instance holds 10,000 events and 5,000 items


def instance_timeline(
    session: Session, actor: Actor, instance_id: int, halaman: int = 1, halaman_item: int = 1
) -> dict[str, Any]:
    """An instance's history, one page of its events and one of its items at a time; the look itself
    goes on the trail (session use case: it writes)."""
    scope = _auditing(actor)
    found = runtime.read(session, instance_id)
    if found is None or not scope.contains(found[0].region_kode):
        raise NotFound(f"Instans {instance_id} tidak ada")
    instance, definition_sha = found
    of_instance = AuditEvent.instance_id == instance.id
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(of_instance)) or 0
    page, pages, offset = page_of(total, halaman, EVENTS_PAGE)
    rows = session.scalars(
        select(AuditEvent).where(of_instance).order_by(AuditEvent.seq).offset(offset).limit(EVENTS_PAGE)
    ).all()
    masked = not privacy.sees_full_nik(actor, instance.region_kode)
    audit.record(session, actor, AuditAction.TRAIL_VIEWED, "process_instance", instance.id, instance_id=instance.id)
    path, current = runtime.path_taken(session, instance, definition_sha)
    submission = session.scalar(select(Submission).where(Submission.instance_id == instance.id))
    item_total = submission_view.count_items(session, submission) if submission else 0
    item_page, item_pages, item_offset = page_of(item_total, halaman_item, ITEMS_PAGE)
    return {
        "instance": instance,
        "events": [_event_shown(row, masked) for row in rows],
        "events_paged": {"page": page, "pages": pages, "total": total},
        "path": path,
        "current": current,
        "decisions": submission_view.decisions(session, instance.id),
        "items": submission_view.items_of(session, actor, submission, page=(item_offset, ITEMS_PAGE))
        if submission
        else [],
        "items_paged": {"page": item_page, "pages": item_pages, "total": item_total},
    }


EXPORT_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "instance_id",
    "human_task_id",
    "prev_hash",
    "hash",
]


def require_province_auditor(actor: Actor, province: str) -> None:
    """The whole trail spans every region: only an auditor of the province reads or checks all of it."""
    if not _auditing(actor).contains(province):
        raise Forbidden("Seluruh jejak audit hanya untuk auditor tingkat provinsi")


# Rows one slice of the check walks (about two seconds): a page checks a national trail of millions
# of rows slice by slice, each request short and the auditor seeing how far it has come
VERIFY_SLICE = 50_000
# A check in slices not finished within this starts again: the rows it read long ago may have changed
CHECK_LASTS = timedelta(hours=1)


@dataclass(frozen=True)
class ChainCheck:
    """One check in slices, started by a person in one session: a slice carried from another check
    (an old page, another tab's earlier check, another session) does not go on in this one."""

    id: str
    started: datetime

    @classmethod
    def start(cls) -> ChainCheck:
        return cls(secrets.token_hex(16), clock.now())

    def stored(self) -> list[str]:
        return [self.id, self.started.isoformat()]

    @classmethod
    def restored(cls, stored: Any) -> ChainCheck | None:
        try:
            return cls(str(stored[0]), datetime.fromisoformat(stored[1]))
        except (TypeError, ValueError, IndexError, KeyError):
            return None


def verify_trail(
    session: Session,
    actor: Actor,
    province: str,
    published: str = "",
    carried: Any = None,
    check: ChainCheck | None = None,
    limit: int | None = None,
) -> audit.ChainReport:
    """The hash chain checked from its first row to its head, and through a head published earlier
    (`BARIS:HASH`) when one is given; in slices of `limit` rows, each going on from where the last
    stopped, as `carried_on` gave it to this person for this head and this check (`carried`)."""
    require_province_auditor(actor, province)
    anchor = audit.Published.parse(published) if published.strip() else None
    return audit.verify_chain(session, anchor, _resumed(actor, published, carried, check), limit)


def carried_on(actor: Actor, published: str, check: ChainCheck, report: audit.ChainReport) -> list[Any]:
    """Where a slice of the check stopped, for the next slice of the same person's same check."""
    return [actor.user_id, published, check.id, report.rows, report.head_hash]


def _resumed(actor: Actor, published: str, carried: Any, check: ChainCheck | None) -> audit.Published | None:
    if carried is None:
        return None
    if not (
        check is not None
        and clock.now() - check.started <= CHECK_LASTS
        and isinstance(carried, list)
        and len(carried) == 5
        and carried[:3] == [actor.user_id, published, check.id]
        and type(carried[3]) is int
        and isinstance(carried[4], str)
    ):
        raise Invalid("Lanjutan pemeriksaan ini tidak sah, sudah lama, atau milik orang lain; mulai pemeriksaan lagi")
    return audit.Published(carried[3], carried[4])


def record_export(session: Session, actor: Actor, province: str, reason: str) -> None:
    """The export holds every NIK on the trail: it is made for a stated reason, which is recorded."""
    require_province_auditor(actor, province)
    stated = privacy.require_reason(reason)
    audit.record(session, actor, AuditAction.TRAIL_EXPORTED, "audit_event", "*", reason=stated)


def _cell(column: str, value: Any, tz: tzinfo) -> Any:
    if value is None:
        return ""
    if column == "at":
        return value.astimezone(tz).isoformat()  # e.g. 2026-11-30T09:00:00+08:00: WITA, zone stated
    if column in ("before", "after"):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return neutralised(str(value))  # read back exactly: the one leading ' removed


def export_csv(session: Session, actor: Actor, province: str, tz: tzinfo = WITA) -> Iterator[str]:
    """The whole trail as CSV, streamed in sequence order, with the hashes to check it elsewhere:
    times in WITA with their offset, values before and after as canonical JSON, no cell a formula."""
    require_province_auditor(actor, province)
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000))
    try:
        for row in rows:
            writer.writerow([_cell(c, getattr(row, c), tz) for c in EXPORT_COLUMNS])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        rows.close()
