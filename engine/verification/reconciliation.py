"""The annual reconciliation (rekonsiliasi tahunan): the year's figures from verified records,
checked against earlier years and other agencies, explained by each kabupaten/kota, reviewed by the
Forum Satu Data, and determined by the head of the Dinas Sosial.

It runs as the BPMN process `rekonsiliasi_tahunan`, one instance per year (business key
`rekonsiliasi:YEAR`), with lanes naming roles at tiers: `kabupaten:walidata` (one review task per
regency), `provinsi:forum_sdi` and `provinsi:kepala_dinas`. The service tasks are
`compute_reconciliation` (figures and checks) and `freeze_determination` (the frozen snapshot,
`engine/verification/determinations.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from engine.bpmn import definitions, human_tasks, runtime
from engine.bpmn.handlers import StepContext
from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.audit import AuditAction
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from engine.core.tables import FORMULA_STARTS
from engine.people import privacy
from engine.people.scope import Scope
from engine.quality import aggregates, flag_reading, review, row_rules, twice
from engine.quality.flags import EXTERNAL_RULES
from engine.verification import coverage, decisions, determinations, period_figures
from models import (
    Cycle,
    CycleStatus,
    Decision,
    Determination,
    FlagStatus,
    HumanTask,
    ProcessInstance,
    QualityFlag,
    Region,
    Severity,
    TaskStatus,
    Tier,
    contains,
)

PROCESS_KEY = "rekonsiliasi_tahunan"
REGENCY_TASK = "tinjauan_kabupaten"
FORUM_TASK = "tinjauan_forum"
HEAD_TASK = "penetapan_kepala"
FIRST_YEAR, LAST_YEAR = 2000, 2100
NOTE_LIMIT = review.NOTE_LIMIT
DECREE_LIMIT = 100
LISTED_OPEN_TASKS = 20
LISTED_CHANGES = 20  # a refusal names the first changed figures, the province's and regencies' first


def business_key(tahun: int, revisi: int = 0) -> str:
    """`rekonsiliasi:2026` for the year; `rekonsiliasi:2026:r1` for its first numbered revision."""
    return f"rekonsiliasi:{tahun}" + (f":r{revisi}" if revisi else "")


def check_year(tahun: Any) -> int:
    """A year as people type it; anything else is refused."""
    text = str(tahun).strip()
    if not (len(text) == 4 and text.isascii() and text.isdigit() and FIRST_YEAR <= int(text) <= LAST_YEAR):
        raise Invalid(f"Tahun {text[:12]!r} tidak sah; tulis empat angka antara {FIRST_YEAR} dan {LAST_YEAR}")
    return int(text)


def regencies(session: Session, province: str) -> list[str]:
    return list(
        session.scalars(
            select(Region.kode)
            .where(Region.tingkat == Tier.KABUPATEN, Region.induk == province, Region.berakhir.is_(None))
            .order_by(Region.kode)
        )
    )


# -- opening a year ---------------------------------------------------------------------------


@dataclass
class Opened:
    tahun: int
    instance_id: int
    created: bool  # false: the year was already open, nothing new was started
    open_tasks: list[dict[str, Any]] = field(default_factory=list)  # verification tasks still open

    def to_dict(self) -> dict[str, Any]:
        return {
            "tahun": self.tahun,
            "instance_id": self.instance_id,
            "dibuka": self.created,
            "tugas_verifikasi_terbuka": self.open_tasks,
        }


def instance_of(session: Session, tahun: int) -> ProcessInstance | None:
    """The year's latest reconciliation (its revision's, when one was opened)."""
    base = business_key(tahun)
    return session.scalar(
        select(ProcessInstance)
        .where(or_(ProcessInstance.business_key == base, ProcessInstance.business_key.like(f"{base}:r%")))
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )


def open_verification_tasks(session: Session, tahun: int) -> tuple[int, list[dict[str, Any]]]:
    """How many verification tasks of the year's periods are still open, and the first of them."""
    where = (HumanTask.status == TaskStatus.TERBUKA, HumanTask.peran.is_(None), HumanTask.periode.like(f"{tahun}-%"))
    rows = session.scalars(select(HumanTask).where(*where).order_by(HumanTask.id).limit(LISTED_OPEN_TASKS)).all()
    total = session.scalar(select(func.count()).select_from(HumanTask).where(*where)) or 0
    listed = [
        {
            "id": t.id,
            "nama": t.nama,
            "tingkat": t.tingkat.value,
            "wilayah": t.region_kode,
            "desa": t.kode_desa,
            "periode": t.periode,
        }
        for t in rows
    ]
    return total, listed


def _revision_of(session: Session, year: int, alasan_revisi: str | None) -> int:
    """0 for a year not determined yet; the next revision's number when a reason is given."""
    frozen = determinations.latest(session, year)
    if frozen is None and alasan_revisi:  # a first determination replaces nothing: it would claim a reason
        raise Conflict(f"Angka tahun {year} belum ditetapkan: tidak ada yang direvisi; buka tanpa alasan revisi")
    if frozen is None:
        return 0
    if not alasan_revisi:
        raise Conflict(
            f"Angka tahun {year} sudah ditetapkan; koreksi masuk ke penetapan berikutnya, "
            "atau ke revisi bernomor dengan alasannya (--revision ALASAN)"
        )
    return frozen.revisi + 1


def open_year(
    session: Session, actor: Actor, province: str, tahun: Any, force: bool = False, alasan_revisi: str | None = None
) -> Opened:
    """Open the year's reconciliation; opening it again opens nothing new. While verification tasks
    of the year are still open, nothing is opened unless `force` confirms it. A determined year is
    opened again only as a numbered revision, with its reason."""
    scope = Scope.reconciling(actor).require_any()
    year = check_year(tahun)
    scope.require(province, "Provinsi")
    reason = note(alasan_revisi)
    existing = None if reason else instance_of(session, year)
    if existing is not None:  # the year (or its latest revision) is already open or done
        return Opened(year, existing.id, created=False)
    revisi = _revision_of(session, year, reason)
    existing = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == business_key(year, revisi)))
    if existing is not None:
        return Opened(year, existing.id, created=False)
    waiting, listed = open_verification_tasks(session, year)
    if waiting and not force:
        desa = {t["desa"] for t in listed}
        places = dict(session.execute(select(Region.kode, Region.nama).where(Region.kode.in_(desa))).all())
        shown = "; ".join(f"{t['nama']}, {places.get(t['desa'], t['desa'])} {t['periode']}" for t in listed)
        raise Conflict(
            f"Masih ada {waiting} tugas verifikasi tahun {year} yang terbuka, di antaranya: {shown}. "
            "Selesaikan dahulu, atau nyatakan bahwa rekonsiliasi tetap dibuka"
        )
    definition = definitions.current(session, PROCESS_KEY)
    running = runtime.start(
        session,
        actor,
        definition,
        business_key(year, revisi),
        province,
        str(year),
        {"tahun": year, "kabupaten_dikembalikan": [], "alasan_revisi": note(alasan_revisi) or None},
    )
    runtime.save(running)
    audit.record(
        session,
        actor,
        AuditAction.RECONCILIATION_OPENED,
        "process_instance",
        running.row.id,
        after={"tahun": year, "revisi": revisi, "tugas_verifikasi_terbuka": waiting},
        instance_id=running.row.id,
        reason=note(alasan_revisi) or ("dibuka meski ada tugas verifikasi terbuka" if waiting else None),
    )
    return Opened(year, running.row.id, created=True, open_tasks=listed)


# -- the year's flags -------------------------------------------------------------------------


def _year_flags(province: str, tahun: int) -> list[ColumnElement[bool]]:
    return [
        QualityFlag.item_id.is_(None),
        QualityFlag.record_id.is_(None),
        QualityFlag.rule.not_in(EXTERNAL_RULES),
        QualityFlag.periode == str(tahun),
        or_(QualityFlag.region_kode == province, QualityFlag.region_kode.like(f"{province}.%")),
    ]


def year_flags(session: Session, province: str, tahun: int, region: str | None = None) -> list[QualityFlag]:
    """The aggregate flags of the year's figures (of a region and the regions within it)."""
    conditions = _year_flags(region or province, tahun)
    return list(session.scalars(select(QualityFlag).where(*conditions).order_by(*review.RANK)))


def unsettled(flag: QualityFlag) -> bool:
    """A flag that still needs its region's word: an open error or warning."""
    return flag.status == FlagStatus.TERBUKA and flag.severity in (Severity.ERROR, Severity.WARNING)


def blocks_determination(flag: QualityFlag) -> bool:
    """An error flag not closed (corrected), or a warning nobody explained."""
    if flag.severity == Severity.ERROR:
        return flag.status != FlagStatus.SELESAI
    return flag.severity == Severity.WARNING and flag.status == FlagStatus.TERBUKA


def _flag_problem(actor: Actor, flag: QualityFlag) -> Problem:
    message = flag_reading.message_for(actor, flag)
    return Problem(
        f"galat: {message}" if flag.severity == Severity.ERROR else f"peringatan: {message}",
        column=f"tanda_{flag.id}",
    )


# -- the service task -------------------------------------------------------------------------


def compute_reconciliation(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The year's figures from verified records, the aggregate checks and the agency comparison."""
    session, instance = ctx.session, ctx.instance
    # a new round of regency reviews names each task's region afresh (merged back from the last round)
    data.pop(runtime.TASK_REGION, None)
    stored = period_figures.take_year(session, ctx.actor, instance.region_kode, int(instance.periode))
    flags = year_flags(session, instance.region_kode, int(instance.periode))
    return {
        "kabupaten": regencies(session, instance.region_kode),
        "angka": stored,
        "tanda": len(flags),
        "tanda_terbuka": sum(1 for f in flags if unsettled(f)),
    }


# -- the tasks --------------------------------------------------------------------------------


def review_task(session: Session, actor: Actor, task_id: int, bpmn_id: str) -> decisions.Found:
    """A reconciliation task of this kind the person may act on."""
    found = decisions.may_act(session, actor, task_id)
    if found.task.bpmn_id != bpmn_id:
        raise NotFound(f"Tugas {task_id} bukan tugas {bpmn_id.replace('_', ' ')}")
    return found


def instance_of_task(session: Session, task: HumanTask) -> ProcessInstance:
    """The year's instance a reconciliation task belongs to."""
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is None:  # the foreign key makes this impossible; said for the type checker
        raise NotFound(f"Instans proses {task.instance_id} tidak ada")
    return instance


def explain_flag(
    session: Session, actor: Actor, task_id: int, flag_id: int, action: review.FlagAction, note: str, seen: str = ""
) -> QualityFlag:
    """In a regency's review: explain a flag of the region, or close it as corrected (the correction
    itself is a new record version through the normal verification). `seen` is the status the
    page showed: a flag settled meanwhile on the dashboard is refused, naming who settled it."""
    found = review_task(session, actor, task_id, REGENCY_TASK)
    flag = session.get(QualityFlag, flag_id)
    instance = instance_of_task(session, found.task)
    if flag is None or flag.periode != instance.periode or not contains(found.task.region_kode, flag.region_kode):
        raise NotFound(f"Tanda {flag_id} tidak ada di wilayah tugas ini")
    if action not in (review.FlagAction.EXPLAIN, review.FlagAction.CLOSE):
        raise Invalid("Dalam tinjauan kabupaten/kota, tanda dijelaskan atau ditutup karena sudah dikoreksi")
    if flag_reading.hidden_from(actor, flag):
        raise Forbidden(
            f"Tanda {flag_id} ada pada angka kategori sensitif di bawah kabupaten/kota; verifikator yang melihat "
            "catatannya menjelaskannya di halaman Mutu data"
        )
    return review.settle(session, actor, flag_id, action, note, seen or flag.status)


def submit_regency_review(session: Session, actor: Actor, task_id: int, catatan: str = "") -> HumanTask:
    """The regency's review goes to the Forum once every error and warning of its region is
    explained or corrected."""
    found = review_task(session, actor, task_id, REGENCY_TASK)
    instance = instance_of_task(session, found.task)
    waiting = [
        f
        for f in year_flags(session, instance.region_kode, int(instance.periode), found.task.region_kode)
        if unsettled(f)
    ]
    if waiting:
        raise Invalid(
            f"{len(waiting)} tanda belum dijelaskan atau dikoreksi di {found.task.region_kode}",
            [_flag_problem(actor, f) for f in waiting],
        )
    step = human_tasks.begin(session, actor, found.task)
    human_tasks.finish(step, actor, Decision.AJUKAN, note(catatan) or None, {}, audit_after={})
    return found.task


def note(text: str | None) -> str:
    """A note or reason, trimmed and within its limit."""
    text = (text or "").strip()
    if len(text) > NOTE_LIMIT:
        raise Invalid("Catatan terlalu panjang", [Problem(f"paling banyak {NOTE_LIMIT} karakter", column="alasan")])
    return text


@dataclass(frozen=True)
class HeadDecision:
    task_id: int
    keputusan: str  # setuju / approve, or kembalikan / return
    alasan: str = ""
    nomor_sk: str = ""
    tanggal_sk: str = ""  # YYYY-MM-DD or DD/MM/YYYY


def _decree(cmd: HeadDecision) -> tuple[str, date]:
    problems = []
    nomor = cmd.nomor_sk.strip()
    if not nomor or len(nomor) > DECREE_LIMIT:
        problems.append(
            Problem(f"nomor surat keputusan wajib diisi (paling banyak {DECREE_LIMIT} karakter)", column="nomor_sk")
        )
    elif nomor.startswith(FORMULA_STARTS) or not nomor.isprintable():  # a spreadsheet would run it, or hide part
        problems.append(Problem("nomor SK diawali angka/huruf (bukan = + - @ '), tanpa kendali", column="nomor_sk"))
    tanggal = row_rules.as_date(cmd.tanggal_sk)
    if tanggal is None and not cmd.tanggal_sk.strip():
        problems.append(Problem("tanggal surat keputusan wajib diisi: DD/MM/YYYY", column="tanggal_sk"))
    elif tanggal is None:
        problems.append(Problem("tanggal surat keputusan bukan tanggal yang ada: DD/MM/YYYY", column="tanggal_sk"))
    elif tanggal > clock.today():  # today where the office is, not the server's UTC date
        problems.append(
            Problem(
                "tanggal surat keputusan belum tiba: tulis tanggal SK yang sudah ditandatangani", column="tanggal_sk"
            )
        )
    if problems or tanggal is None:
        raise Invalid("Surat keputusan penetapan belum lengkap", problems)
    return nomor, tanggal


def decide_determination(session: Session, actor: Actor, cmd: HeadDecision) -> HumanTask:
    """The head approves the year's figures with the decree, or returns them to the Forum with a
    reason. Approval is refused, naming them, while an error flag or an unexplained warning remains."""
    found = review_task(session, actor, cmd.task_id, HEAD_TASK)
    instance = instance_of_task(session, found.task)
    keputusan = decisions.DECISION_WORDS.get(cmd.keputusan.strip().lower())
    if keputusan not in (Decision.SETUJU, Decision.KEMBALIKAN):
        raise Invalid(f"Keputusan {cmd.keputusan!r} tidak berlaku; gunakan setuju (approve) atau kembalikan (return)")
    alasan = note(cmd.alasan)
    if keputusan == Decision.KEMBALIKAN:
        if not alasan:
            raise Invalid("Alasan wajib diisi saat mengembalikan", [Problem("isi alasan", column="alasan")])
        step = human_tasks.begin(session, actor, found.task)
        human_tasks.finish(step, actor, keputusan, alasan, {}, audit_after={})
        return found.task
    nomor, tanggal = _decree(cmd)
    blocking = [f for f in year_flags(session, instance.region_kode, int(instance.periode)) if blocks_determination(f)]
    if blocking:
        raise Invalid(
            f"Penetapan ditolak: masih ada {len(blocking)} tanda kesalahan atau peringatan yang belum dijelaskan",
            [_flag_problem(actor, f) for f in blocking],
        )
    _refuse_changed(session, instance, aggregates.count_records(session, instance.region_kode, instance.periode), actor)
    step = human_tasks.begin(session, actor, found.task)
    human_tasks.finish(
        step,
        actor,
        keputusan,
        alasan or None,
        {"nomor_sk": nomor, "tanggal_sk": tanggal.isoformat()},
        audit_after={"nomor_sk": nomor, "tanggal_sk": tanggal.isoformat()},
        variables={"nomor_sk": nomor, "tanggal_sk": tanggal.isoformat()},
    )
    return found.task


@dataclass(frozen=True)
class Proposal:
    """What the head is asked to determine: each category's figure for the province and for each
    regency as the records stand now (what approval freezes), and the figures that changed since
    they were counted for the Forum, by level from the province down."""

    kabupaten: list[tuple[str, str]]  # code and name
    baris: list[tuple[str, int, list[int]]]  # kategori, the province's figure, each regency's
    berubah: list[aggregates.Drift]
    # each regency's reporting in the year's last cycle, and those none of whose desa reported all year
    kelengkapan: dict[str, coverage.Coverage] = field(default_factory=dict)
    tidak_melapor: set[str] = field(default_factory=set)
    sama_dengan: Determination | None = None  # a revision whose figures are the latest determination's
    ganda: list[twice.Twice] = field(default_factory=list)  # people standing in two desa, counted twice

    @property
    def jumlah(self) -> tuple[int, list[int]]:
        """How many records the figures count (a person, family, institution or community each one)."""
        per_regency = [sum(row[2][i] for row in self.baris) for i in range(len(self.kabupaten))]
        return sum(row[1] for row in self.baris), per_regency


def changed_since_forum(
    session: Session, instance: ProcessInstance, now: Counter[tuple[str, str]]
) -> list[aggregates.Drift]:
    """The year's figures that differ from those counted for the Forum, from the province down."""
    changed = aggregates.drift(session, instance.region_kode, instance.periode, now)
    return sorted(changed, key=lambda d: (d.wilayah.count("."), d.wilayah, d.kategori))


def proposal(session: Session, instance: ProcessInstance) -> Proposal:
    province, periode = instance.region_kode, instance.periode
    now = aggregates.count_records(session, province, periode)
    changed = changed_since_forum(session, instance, now)
    columns = regencies(session, province)
    names = dict(session.execute(select(Region.kode, Region.nama).where(Region.kode.in_(columns))).all())
    categories = sorted({kategori for _, kategori in now} | {d.kategori for d in changed})
    rows = [(k, now.get((province, k), 0), [now.get((code, k), 0) for code in columns]) for k in categories]
    year = coverage.of_year(session, province, int(periode))
    return Proposal(
        [(code, names.get(code, code)) for code in columns],
        rows,
        changed,
        coverage.latest_by_region(year),
        coverage.unreported(year),
        determinations.same_as_latest(session, int(periode), now, year),
        twice.registered_twice(session, province, periode),
    )


def _refuse_changed(
    session: Session, instance: ProcessInstance, now: Counter[tuple[str, str]], actor: Actor | None = None
) -> None:
    """Refused while figures changed since the Forum's count; those named are those the person may read."""
    changed = changed_since_forum(session, instance, now)
    if changed:
        named = [d for d in changed if actor is None or privacy.sees_sensitive_count(actor, d.wilayah, d.kategori)]
        raise Invalid(
            f"Penetapan ditolak: {len(changed)} angka berubah sejak dihitung ulang untuk Forum; "
            "kembalikan agar angka dihitung ulang dan ditelaah Forum lagi",
            [_drift_problem(d) for d in named[:LISTED_CHANGES]],
        )


def _drift_problem(d: aggregates.Drift) -> Problem:
    return Problem(f"{d.wilayah} {d.kategori}: {d.dihitung} menjadi {d.sekarang}", column=f"angka_{d.wilayah}")


def freeze_determination(ctx: StepContext, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The head approved: freeze the year's figures and the records behind them."""
    approval = determinations.Approval(
        province=ctx.instance.region_kode,
        tahun=int(ctx.instance.periode),
        nomor_sk=str(data["nomor_sk"]),
        tanggal_sk=date.fromisoformat(str(data["tanggal_sk"])),
        instance_id=ctx.instance.id,
        human_task_id=ctx.human_task_id,
        alasan_revisi=data.get("alasan_revisi") or None,
    )
    # The figures frozen are those read here and checked once more against the Forum's: an approval of
    # a late submission committed since the head's own check would otherwise be frozen unreviewed.
    records = aggregates.standing_records(ctx.session, approval.province, ctx.instance.periode)
    _refuse_changed(ctx.session, ctx.instance, aggregates.counted(records))
    determination = determinations.freeze(ctx.session, ctx.actor, approval, records)
    return {"penetapan_id": determination.id, "hash": determination.content_hash, "revisi": determination.revisi}


def due_years(session: Session, today: date) -> list[int]:
    """Years whose last update cycle has closed and whose reconciliation is not open yet."""
    closed = session.scalars(select(Cycle.periode).where(Cycle.status == CycleStatus.DITUTUP))
    years = {int(p[:4]) for p in closed if p[5:] in ("Q4", "S2") and int(p[:4]) <= today.year}
    return sorted(y for y in years if instance_of(session, y) is None and determinations.latest(session, y) is None)


def open_due_years(
    session: Session, actor: Actor, province: str, today: date | None = None
) -> tuple[list[Opened], list[str]]:
    """The scheduler's part: open each year whose last cycle has closed; a year with verification
    tasks still open waits for them, and says why (the province may open it by hand, confirmed)."""
    opened, waiting = [], []
    for year in due_years(session, today or clock.today()):
        try:
            opened.append(open_year(session, actor, province, year))
        except Conflict as refused:
            waiting.append(f"{year} menunggu: {refused}")
    return opened, waiting
