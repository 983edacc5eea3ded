"""NIK matching with the civil registry (Dukcapil): a job under the scheduler's lease asks Dukcapil
about records (and items of submissions under verification) that have no answer yet, or changed
since their answer, and keeps each answer with its time.

Dukcapil is reached through the `DukcapilPort` adapter; `HttpDukcapil` is the HTTP client
(timeout, retries with backoff, circuit breaker). Answers are written chunk by chunk, each in its
own transaction: a failure loses nothing that was answered, and never overwrites an answer, so a
person stays `belum_dicek` until a real answer comes. Rerunning asks only about what is still
unanswered or changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from engine.core import audit, clock, resilience
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.config import DukcapilSettings
from engine.core.errors import phrase
from engine.core.uow import Database
from models import (
    FlagStatus,
    ItemAction,
    NikCheck,
    NikStatus,
    QualityFlag,
    Record,
    RecordStatus,
    Severity,
    Submission,
    SubmissionItem,
    SubmissionStatus,
)

log = logging.getLogger(__name__)
ADAPTER = "dukcapil"
CHUNK = 50  # NIKs per call to Dukcapil
RULE = "dukcapil"
ACTOR = Actor.system("dukcapil")
LABELS = {  # marked, so that an English page says the field in English too
    "nik": phrase("NIK tidak ditemukan"),
    "nama": phrase("nama"),
    "tanggal_lahir": phrase("tanggal lahir"),
    "jenis_kelamin": phrase("jenis kelamin"),
    "no_kk": phrase("nomor KK"),
    "kode_wilayah": phrase("wilayah alamat"),
}


# Dukcapil gave no usable answer (after retries), or its circuit breaker is open (no call was made).
RegistryUnavailable = resilience.ServiceUnavailable
BreakerOpen = resilience.ServiceBreakerOpen


@dataclass(frozen=True)
class Person:
    """What Dukcapil holds for a NIK."""

    nik: str
    nama: str
    tanggal_lahir: str
    jenis_kelamin: str
    no_kk: str
    kode_wilayah: str
    meninggal: bool = False


class DukcapilPort(Protocol):
    def lookup(self, niks: list[str]) -> dict[str, Person | None]:
        """Each NIK's person, or None when Dukcapil does not know it; a NIK it did not answer for is
        left out; `RegistryUnavailable` when it does not answer at all."""
        ...


def _person(found: dict[str, Any]) -> Person:
    return Person(
        nik=str(found["nik"]),
        nama=str(found.get("nama") or ""),
        tanggal_lahir=str(found.get("tanggal_lahir") or ""),
        jenis_kelamin=str(found.get("jenis_kelamin") or ""),
        no_kk=str(found.get("no_kk") or ""),
        kode_wilayah=str(found.get("kode_wilayah") or ""),
        meninggal=str(found.get("status_hidup") or "") == "meninggal",
    )


def _answer(row: dict[str, Any]) -> Person | None:
    """One row: found (with at least a name to compare) or said not found; anything else is an
    answer SIJOSKU cannot read, and no verdict is drawn from it."""
    if row["ditemukan"] is False:
        return None
    if row["ditemukan"] is not True or not str(row.get("nama") or "").strip():
        raise ValueError(f"baris NIK tanpa ditemukan true/false atau tanpa nama: {sorted(row)}")
    return _person(row)


def _answers(niks: list[str], answer: httpx.Response) -> dict[str, Person | None]:
    """The NIKs Dukcapil answered for: a NIK it left out is not "not found", but not answered."""
    asked = set(niks)
    return {str(r["nik"]): _answer(r) for r in answer.json()["hasil"] if str(r["nik"]) in asked}


class HttpDukcapil:
    """The HTTP client: `POST {base}/nik/batch` with `{"nik": [...]}`, HTTP basic credentials."""

    def __init__(
        self, settings: DukcapilSettings, transport: httpx.BaseTransport | None = None, sleep: Any = None
    ) -> None:
        self.settings = settings
        self._service = resilience.ServiceClient(settings, "Dukcapil", transport, sleep)
        self.breaker = self._service.breaker

    def lookup(self, niks: list[str]) -> dict[str, Person | None]:
        return self._service.call("POST", "/nik/batch", lambda answer: _answers(niks, answer), json={"nik": niks})

    def close(self) -> None:
        self._service.close()


def adapter(db: Database) -> DukcapilPort | None:
    """The application's Dukcapil client (registered by the composition root), if configured."""
    return db.registry.adapters.get(ADAPTER)


# --- comparing ----------------------------------------------------------------------------------


def _name(text: str) -> str:
    return " ".join(text.casefold().replace(".", " ").replace(",", " ").split())


def compare(values: dict[str, Any], kode_desa: str, person: Person | None) -> tuple[NikStatus, list[str]]:
    """Dukcapil's verdict on our values: padan, tidak padan (with the differing fields), meninggal."""
    if person is None:
        return NikStatus.TIDAK_PADAN, ["nik"]
    if person.meninggal:
        return NikStatus.MENINGGAL, []
    ours = {
        "nama": _name(str(values.get("nama") or "")),
        "tanggal_lahir": str(values.get("tanggal_lahir") or ""),
        "jenis_kelamin": str(values.get("jenis_kelamin") or ""),
        "no_kk": str(values.get("no_kk") or ""),
        "kode_wilayah": kode_desa,
    }
    theirs = {
        "nama": _name(person.nama),
        "tanggal_lahir": person.tanggal_lahir,
        "jenis_kelamin": person.jenis_kelamin,
        "no_kk": person.no_kk,
        "kode_wilayah": person.kode_wilayah,
    }
    differing = [name for name in ours if ours[name] and theirs[name] and ours[name] != theirs[name]]
    return (NikStatus.TIDAK_PADAN, differing) if differing else (NikStatus.PADAN, [])


def message(status: NikStatus, differing: list[str]) -> str:
    if status == NikStatus.MENINGGAL:
        return phrase("Dukcapil mencatat orang dengan NIK ini telah meninggal dunia")
    if differing == ["nik"]:
        return phrase("Dukcapil: NIK tidak ditemukan")
    return phrase(f"Dukcapil: tidak padan pada {', '.join(LABELS[f] for f in differing)}")


# --- what to check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A record or an item to ask Dukcapil about, with the values compared."""

    record_id: int | None
    item_id: int | None
    nik: str
    kode_desa: str
    kategori: str
    values: dict[str, Any]
    submission_id: int | None = None
    periode: str | None = None


def _unanswered(changed_column: Any) -> Any:
    """No answer yet, only failed attempts, or values changed after the answer."""
    return or_(NikCheck.id.is_(None), NikCheck.checked_at.is_(None), NikCheck.checked_at < changed_column)


def _record_values(r: Record) -> dict[str, Any]:
    born = r.tanggal_lahir.isoformat() if isinstance(r.tanggal_lahir, date) else None
    return {"nama": r.nama, "tanggal_lahir": born, "jenis_kelamin": r.jenis_kelamin, "no_kk": r.no_kk}


def candidates(session: Session, limit: int) -> list[Subject]:
    """Items under verification first (a verifier is waiting), then records; never answered first."""
    items = session.execute(
        select(SubmissionItem, Submission.kode_desa, Submission.periode)
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .outerjoin(NikCheck, NikCheck.item_id == SubmissionItem.id)
        .where(
            Submission.status == SubmissionStatus.DIAJUKAN,
            SubmissionItem.aksi != ItemAction.HAPUS,
            SubmissionItem.nik.is_not(None),
            SubmissionItem.nik != "",
            _unanswered(SubmissionItem.updated_at),
        )
        .order_by(NikCheck.id.is_not(None), SubmissionItem.id)
        .limit(limit)
    ).all()
    found = [
        Subject(None, i.id, i.nik or "", desa, i.kategori, dict(i.data), i.submission_id, periode)
        for i, desa, periode in items
    ]
    if len(found) < limit:
        records = session.scalars(
            select(Record)
            .outerjoin(NikCheck, NikCheck.record_id == Record.id)
            .where(
                Record.status == RecordStatus.AKTIF,
                Record.nik.is_not(None),
                Record.nik != "",
                _unanswered(Record.updated_at),
            )
            .order_by(NikCheck.id.is_not(None), Record.id)
            .limit(limit - len(found))
        ).all()
        found += [Subject(r.id, None, r.nik or "", r.kode_desa, r.kategori, _record_values(r)) for r in records]
    return found


# --- writing the answers ------------------------------------------------------------------------------


def _check_row(session: Session, subject: Subject) -> NikCheck | None:
    column = NikCheck.record_id if subject.record_id is not None else NikCheck.item_id
    return session.scalar(select(NikCheck).where(column == (subject.record_id or subject.item_id)))


def _flag(session: Session, subject: Subject, status: NikStatus, differing: list[str], now: datetime) -> None:
    """The subject's Dukcapil flag replaced by this answer's (none when padan)."""
    where = (
        QualityFlag.record_id == subject.record_id
        if subject.record_id is not None
        else QualityFlag.item_id == subject.item_id
    )
    session.execute(
        delete(QualityFlag).where(where, QualityFlag.rule == RULE, QualityFlag.status == FlagStatus.TERBUKA)
    )
    if status == NikStatus.PADAN:
        return
    session.add(
        QualityFlag(
            rule=RULE,
            severity=Severity.WARNING,
            message=message(status, differing),
            tingkat=None,
            region_kode=subject.kode_desa,
            kategori=subject.kategori,
            periode=subject.periode,
            field="nik",
            observed={"status": status.value, "berbeda": differing},
            expected=None,
            sources={"sumber": "dukcapil"},
            submission_id=subject.submission_id,
            item_id=subject.item_id,
            record_id=subject.record_id,
            status=FlagStatus.TERBUKA,
            created_at=now,
        )
    )


def record_answers(
    session: Session, answers: list[tuple[Subject, Person | None]], asked_at: datetime | None = None
) -> dict[str, int]:
    """Store each answer with the time its values were read (`asked_at`): a change made while
    Dukcapil was answering is later than the answer, which then is not shown and is asked again.
    Replace the subject's Dukcapil flag, audit it."""
    now, counts = asked_at or clock.now(), {s.value: 0 for s in NikStatus}
    entries = []
    for subject, person in answers:
        status, differing = compare(subject.values, subject.kode_desa, person)
        row = _check_row(session, subject) or NikCheck(
            record_id=subject.record_id, item_id=subject.item_id, nik=subject.nik, attempts=0
        )
        row.nik, row.status, row.berbeda, row.checked_at = subject.nik, status, differing, now
        row.attempted_at, row.attempts, row.last_error = now, (row.attempts or 0) + 1, None
        session.add(row)
        _flag(session, subject, status, differing, now)
        counts[status.value] += 1
        entries.append(
            {
                "action": AuditAction.NIK_CHECKED,
                "subject_type": "ppks_record" if subject.record_id is not None else "submission_item",
                "subject_id": subject.record_id or subject.item_id,
                "after": {"status": status.value, "berbeda": differing},
            }
        )
    session.flush()
    audit.record_many(session, ACTOR, entries)
    return counts


def record_failure(session: Session, subjects: list[Subject], error: str) -> None:
    """A failed attempt: noted on each subject, never overwriting an answer it already has."""
    now = clock.now()
    for subject in subjects:
        row = _check_row(session, subject)
        if row is None:
            session.add(
                NikCheck(
                    record_id=subject.record_id,
                    item_id=subject.item_id,
                    nik=subject.nik,
                    status=NikStatus.BELUM_DICEK,
                    berbeda=[],
                    checked_at=None,
                    attempted_at=now,
                    attempts=1,
                    last_error=error[:500],
                )
            )
        else:
            session.execute(
                update(NikCheck)
                .where(NikCheck.id == row.id)
                .values(attempted_at=now, attempts=NikCheck.attempts + 1, last_error=error[:500])
            )


@dataclass
class SyncReport:
    asked: int = 0
    answered: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in NikStatus})
    failed: int = 0
    skipped: int = 0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        answered = ", ".join(f"{k} {v}" for k, v in self.answered.items() if v) or "tidak ada"
        text = f"{self.asked} ditanyakan; dijawab: {answered}; gagal {self.failed}; dilewati {self.skipped}"
        return f"{text}. {self.message}".strip()


def _ask(port: DukcapilPort, chunk: list[Subject]) -> tuple[dict[str, Person | None], dict[str, str]]:
    """The answers for a chunk, and why each NIK left unanswered was. A call that fails is tried
    again in halves, so that one NIK the registry cannot answer (its 500 for that record) holds
    back only itself, not everyone asked with it, run after run."""
    try:
        return port.lookup(sorted({s.nik for s in chunk})), {}
    except BreakerOpen:
        raise
    except RegistryUnavailable as exc:
        return _in_halves(port, chunk, str(exc))


def _in_halves(port: DukcapilPort, chunk: list[Subject], why: str) -> tuple[dict[str, Person | None], dict[str, str]]:
    """Both halves are asked before either is split again: the half that answers resets the circuit
    breaker's count of failures in a row, which a descent into the failing half alone would open."""
    if len({s.nik for s in chunk}) <= 1:
        return {}, {s.nik: why for s in chunk}
    answers: dict[str, Person | None] = {}
    errors: dict[str, str] = {}
    failed: list[tuple[list[Subject], str]] = []
    for half in (chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]):
        try:
            answers.update(port.lookup(sorted({s.nik for s in half})))
        except BreakerOpen as opened:  # the registry is down after all: these wait for the next run
            errors.update({s.nik: str(opened) for s in half})
        except RegistryUnavailable as exc:
            failed.append((half, str(exc)))
    for half, reason in failed:
        found, still = _in_halves(port, half, reason)
        answers.update(found)
        errors.update(still)
    return answers, errors


def sync(db: Database, port: DukcapilPort | None, limit: int) -> SyncReport:
    """One batch: up to `limit` people without a current answer. Stops at an open circuit breaker."""
    report = SyncReport()
    if port is None:
        report.message = "Dukcapil belum dikonfigurasi (SIJOSKU_DUKCAPIL_URL); tidak ada yang diperiksa"
        return report
    asked_at = clock.now()  # before the values are read: an answer is about them as they were then
    with db.read() as session:
        subjects = candidates(session, limit)
    for start in range(0, len(subjects), CHUNK):
        chunk = subjects[start : start + CHUNK]
        report.asked += len(chunk)
        try:
            found, errors = _ask(port, chunk)
        except BreakerOpen as exc:  # nothing more is asked: the rest waits for the next run
            report.asked -= len(chunk)
            report.skipped = len(subjects) - start
            report.message = str(exc)
            break
        unanswered = [s for s in chunk if s.nik not in found]
        with db.transaction() as session:
            counts = record_answers(session, [(s, found[s.nik]) for s in chunk if s.nik in found], asked_at)
            for subject in unanswered:
                record_failure(session, [subject], errors.get(subject.nik, "Dukcapil tidak menjawab NIK ini"))
        report.failed += len(unanswered)
        for key, n in counts.items():
            report.answered[key] += n
    return report
