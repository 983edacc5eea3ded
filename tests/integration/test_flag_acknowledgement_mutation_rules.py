"""What verifiers and auditors rely on when flags are stored, acknowledged and settled:

- a record check found again keeps a warning's acknowledgement only while the finding is the same
  one: another message or other details make it a new open flag; a stored flag carries the
  submission's desa and period and the item's category (`flags.store_item_flags`);
- only warnings are accepted with a note; a warning acknowledged once keeps its first note, who
  wrote it and at which tier, on the record once (`flags.acknowledge`);
- the warnings still waiting for a note are listed oldest first, at most as many as asked
  (`flags.unacknowledged_warnings`);
- the aggregate flag list ranks equal flags by region, counts its pages, shows the last page for
  one past it, and refuses a region filter outside the reviewer's area (`review.flag_list`);
- a flag on a register record is not settled from the aggregate list; a flag settled already, or
  changed since the reviewer saw it, is refused with who acted, and nothing is written; a settled
  flag says at which tier (`review.settle`).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.errors import Conflict, Invalid, NotFound
from engine.people.scope import Scope
from engine.quality import flags, review
from engine.quality.findings import Finding
from models import AuditEvent, FlagStatus, QualityFlag, Severity, Submission
from tests.factories import DESA, PERIOD, actor, carded_record, open_with_items
from tests.integration.test_quality_flag_rules import _figure_flag, _items

WARNING = Severity.WARNING
SIMILAR = Finding("nama", "nama mirip dengan orang lain", WARNING, "nama_mirip", detail={"desa": DESA})


def _store(s, sid: int, finding: Finding) -> None:
    sub, items = s.get(Submission, sid), _items(s, sid)
    flags.store_item_flags(s, sub, items, [[finding]] + [[] for _ in items[1:]])


def _acknowledged(db, sid: int) -> int:
    with db.transaction() as s:
        _store(s, sid, SIMILAR)
        flag_id = s.scalar(select(QualityFlag.id).where(QualityFlag.rule == SIMILAR.rule))
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: "dicek dengan KTP"})
    return flag_id


# --- item flags: a record check run again ---


@pytest.mark.parametrize(
    "again",
    [
        Finding("nama", "nama mirip dengan Budi", WARNING, "nama_mirip", detail={"desa": DESA}),
        Finding("nama", "nama mirip dengan orang lain", WARNING, "nama_mirip", detail={"desa": "65.01.01.2006"}),
    ],
    ids=["another-message", "other-details"],
)
def test_a_warning_found_again_with_another_message_or_details_is_a_new_open_flag(db, people, again):
    sid = open_with_items(db)
    flag_id = _acknowledged(db, sid)
    with db.transaction() as s:
        _store(s, sid, again)
    with db.read() as s:
        now = s.scalars(select(QualityFlag).where(QualityFlag.rule == "nama_mirip")).all()
        assert [(f.message, f.sources, f.status) for f in now] == [(again.message, again.detail, "terbuka")]
        assert now[0].id != flag_id
        assert [f.id for f in flags.unacknowledged_warnings(s, sid)] == [now[0].id]


def test_a_flag_found_on_an_item_carries_the_desa_the_period_and_the_items_category(db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        _store(s, sid, SIMILAR)
    with db.read() as s:
        item = _items(s, sid)[0]
        flag = s.scalar(select(QualityFlag).where(QualityFlag.rule == "nama_mirip"))
        assert (flag.region_kode, flag.periode, flag.kategori, flag.item_id) == (DESA, PERIOD, item.kategori, item.id)
        assert (flag.submission_id, flag.status, flag.field) == (sid, "terbuka", "nama")


def test_a_record_check_found_again_keeps_one_flag_not_a_second_copy(db, people):
    sid = open_with_items(db)
    flag_id = _acknowledged(db, sid)
    for _ in range(2):
        with db.transaction() as s:
            _store(s, sid, SIMILAR)
    with db.read() as s:
        assert s.scalars(select(QualityFlag.id).where(QualityFlag.rule == "nama_mirip")).all() == [flag_id]


# --- acknowledging warnings ---


@pytest.mark.parametrize("severity", [Severity.ERROR, Severity.INFO])
def test_only_a_warning_can_be_accepted_with_a_note(db, people, severity):
    sid = open_with_items(db)
    with db.transaction() as s:
        flag_id = _figure_flag(s, DESA, submission_id=sid, rule="nik", severity=severity)
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: "sudah dicek"})
    assert "hanya peringatan yang dapat diakui" in refused.value.problems[0].message
    assert refused.value.problems[0].column == f"ack_{flag_id}"
    with db.read() as s:
        assert (s.get(QualityFlag, flag_id).status, s.get(QualityFlag, flag_id).ack_note) == ("terbuka", None)


def _acknowledgement(db, flag_id: int) -> tuple[str, str, str, str]:
    """A flag's status, who acknowledged or settled it, at which tier and why (with a time kept)."""
    with db.read() as s:
        flag = s.get(QualityFlag, flag_id)
        assert flag.ack_at is not None
        return flag.status, flag.ack_by, flag.ack_tingkat, flag.ack_note


def test_a_warning_acknowledged_twice_keeps_the_first_note_who_wrote_it_and_its_tier(db, people):
    sid = open_with_items(db)
    flag_id = _acknowledged(db, sid)
    with db.transaction() as s:
        flags.acknowledge(s, actor(db, "verif.kab"), "kabupaten", sid, {flag_id: "catatan lain"})
    assert _acknowledgement(db, flag_id) == ("diakui", "verif.kec", "kecamatan", "dicek dengan KTP")
    with db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "FLAG_ACKNOWLEDGED")).all()
        assert [(e.actor, e.reason, e.before, e.after["tingkat"]) for e in events] == [
            ("verif.kec", "dicek dengan KTP", {"status": "terbuka"}, "kecamatan")
        ]


def test_a_note_one_character_too_long_is_refused(db, people):
    sid = open_with_items(db)
    with db.transaction() as s:
        flag_id = _figure_flag(s, DESA, submission_id=sid, rule="nama_mirip")
    with pytest.raises(Invalid) as refused, db.transaction() as s:
        flags.acknowledge(s, actor(db, "verif.kec"), "kecamatan", sid, {flag_id: "x" * (flags.NOTE_LIMIT + 1)})
    assert [p.column for p in refused.value.problems] == [f"ack_{flag_id}"]
    with db.read() as s:
        assert s.get(QualityFlag, flag_id).status == "terbuka"


def test_the_waiting_warnings_are_the_oldest_first_and_no_more_than_asked(db):
    sid = open_with_items(db)
    with db.transaction() as s:
        waiting = [_figure_flag(s, DESA, submission_id=sid, rule="nama_mirip", message=f"m{n}") for n in range(3)]
    with db.read() as s:
        assert [f.id for f in flags.unacknowledged_warnings(s, sid)] == waiting
        assert [f.id for f in flags.unacknowledged_warnings(s, sid, limit=2)] == waiting[:2]


# --- the aggregate flag list ---


def test_equal_flags_are_listed_by_region(db, people):
    with db.transaction() as s:
        later = _figure_flag(s, "65.02")
        earlier = _figure_flag(s, "65.01")
        listed = review.flag_list(s, Scope.overseeing(actor(db, "valid.prov")), review.FlagFilter())
        assert [f.id for f in listed.flags] == [earlier, later]


def test_the_list_counts_its_pages_and_a_page_past_the_last_shows_the_last(db, people):
    with db.transaction() as s:
        ids = [_figure_flag(s, code) for code in ("65.01", "65.02", "65.03")]
        scope = Scope.overseeing(actor(db, "valid.prov"))
        listed = review.flag_list(s, scope, review.FlagFilter(), page=9, per_page=2)
        assert (listed.total, listed.pages, listed.page, [f.id for f in listed.flags]) == (3, 2, 2, ids[2:])
        assert review.flag_list(s, scope, review.FlagFilter(), per_page=3).pages == 1


def test_a_region_filter_outside_the_reviewers_area_is_refused(db, people):
    with db.transaction() as s:
        _figure_flag(s, "65.02")
        scope = Scope.reviewing(actor(db, "verif.kab"))
        with pytest.raises(NotFound):
            review.flag_list(s, scope, review.FlagFilter(region_kode="65.02"))


# --- settling an aggregate flag ---


def test_a_flag_on_a_register_record_is_not_settled_from_the_aggregate_list(db, people):
    record = carded_record(db, 1)
    with db.transaction() as s:
        flag_id = _figure_flag(s, DESA, record_id=record.id, rule="nama_mirip")
    with pytest.raises(NotFound), db.transaction() as s:
        review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.CLOSE, "sudah", "terbuka")
    with db.read() as s:
        assert s.get(QualityFlag, flag_id).status == "terbuka"


def test_a_settled_flag_says_who_settled_it_and_at_which_tier(db, people):
    with db.transaction() as s:
        flag_id = _figure_flag(s, "65.01.01")
    with db.transaction() as s:
        review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.EXPLAIN, "panti baru", "terbuka")
    assert _acknowledgement(db, flag_id) == ("dijelaskan", "verif.kab", "kabupaten", "panti baru")


def test_settling_a_flag_someone_else_settled_first_names_them_and_writes_nothing(db, people):
    with db.transaction() as s:
        flag_id = _figure_flag(s, "65.01")
    with db.transaction() as s:
        review.settle(s, actor(db, "valid.prov"), flag_id, review.FlagAction.CLOSE, "sudah benar", "terbuka")
    with pytest.raises(Conflict, match="oleh valid.prov"), db.transaction() as s:
        review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.EXPLAIN, "panti baru", "terbuka")
    with pytest.raises(Conflict, match="sudah ditindaklanjuti"), db.transaction() as s:
        review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.CLOSE, "lagi", "selesai")
    with db.read() as s:
        flag = s.get(QualityFlag, flag_id)
        assert (flag.status, flag.ack_by, flag.ack_note) == ("selesai", "valid.prov", "sudah benar")
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "quality_flag")).all()) == 1


def test_a_flag_changed_since_the_reviewer_saw_it_is_not_overwritten(db, people):
    """Seen explained; meanwhile reopened and closed by others: reopening what was seen must be refused."""
    with db.transaction() as s:
        flag_id = _figure_flag(s, "65.01")
    steps = [
        (review.FlagAction.EXPLAIN, "terbuka"),
        (review.FlagAction.REOPEN, "dijelaskan"),
        (review.FlagAction.CLOSE, "terbuka"),
    ]
    for action, seen in steps:
        with db.transaction() as s:
            review.settle(s, actor(db, "valid.prov"), flag_id, action, f"langkah {action}", seen)
    with pytest.raises(Conflict, match="oleh valid.prov"), db.transaction() as s:
        review.settle(s, actor(db, "verif.kab"), flag_id, review.FlagAction.REOPEN, "dilihat lagi", "dijelaskan")
    with db.read() as s:
        flag = s.get(QualityFlag, flag_id)
        assert (flag.status, flag.ack_by) == (FlagStatus.SELESAI, "valid.prov")
        events = s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "quality_flag")).all()
        assert len(events) == 3
