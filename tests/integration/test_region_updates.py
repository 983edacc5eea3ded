"""The province's regions updated from a Kemendagri decree: desa merged, renamed, new kecamatan, codes
that end without being deleted, an update undone, and every list that cannot be applied refused with
nothing written."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.core import audit, clock
from engine.core.actors import Actor
from engine.core.errors import Conflict, Forbidden, Invalid
from engine.people import administration, tokens, users
from engine.quality import aggregates, completeness
from engine.verification import cycles, region_history, region_updates, submissions, trail
from models import (
    AgencyToken,
    AggregateValue,
    AuditEvent,
    Cycle,
    QualityFlag,
    Record,
    RecordVersion,
    Region,
    RegionChange,
    RoleAssignment,
    Submission,
    User,
)
from tests.factories import SYSTEM, decide, open_with_items, submit, verified_records
from tests.integration.interleave import first_then_second
from tests.regions import SEED, listing, regions_restored  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("regions_restored")  # every test changes the seeded regions
MERGED, HEIR = "65.01.01.2006", "65.01.01.2005"  # Pejalin joins Gunung Putih
BASIS = ("Kepmendagri No. 100.1.1-9999 Tahun 2026", date(2026, 11, 1))
TODAY = date(2026, 12, 3)


def _apply(db, rows, actor=SYSTEM, digest=None, basis=BASIS):
    with db.transaction() as s:
        return region_updates.apply_update(s, actor, rows, "65", basis, TODAY, digest)


def _plan(db, rows, actor=SYSTEM):
    with db.read() as s:
        return region_updates.plan_update(s, actor, rows, "65")


def _written(db) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(RegionChange)),
            s.scalar(select(func.count()).select_from(Region).where(Region.berakhir.is_not(None))),
            s.scalar(select(func.count()).select_from(Region).where(Region.kode.like("65.%"))),
        )


def test_the_seeded_list_changes_nothing(db):
    plan = _plan(db, listing() + [{"kode": "64.01", "nama": "Kabupaten Paser", "kode_lama": ""}])
    assert plan.changes == [] and plan.ignored == 1
    assert _apply(db, listing()).changes == [] and _written(db)[0] == 0


def test_a_merged_desa_ends_and_its_register_roles_and_tokens_move_to_the_desa_that_carries_on(db, people):
    verified_records(db, MERGED, (21, 22))
    with db.transaction() as s:  # the desa's own application reads its figures through the API
        token = tokens.create_token(s, SYSTEM, tokens.TokenRequest("Aplikasi Desa Pejalin", MERGED, ("agregat",)))
    with db.transaction() as s:
        aggregates.snapshot_records(s, SYSTEM, "2026-Q3", "65")
    rows = listing(drop={MERGED}, rename={HEIR: "Gunung Putih Raya"}, lama={HEIR: MERGED})
    preview = _plan(db, rows)
    assert preview.counts == {"baru": 0, "ganti_nama": 1, "berakhir": 1, "berlaku_lagi": 0}
    assert preview.moved_records == {MERGED: 2}
    assert [(r.username, r.kode, r.penerus) for r in preview.roles] == [("op.lain", MERGED, HEIR)]
    assert [(t.prefix, t.kode, t.penerus) for t in preview.tokens] == [(token.token.prefix, MERGED, HEIR)]

    applied = _apply(db, rows, digest=preview.digest)
    assert applied.digest == preview.digest
    with db.read() as s:
        ended = s.get(Region, MERGED)
        assert ended.berakhir == BASIS[1] and ended.nama == "Pejalin"  # the code stays, with its name
        assert s.get(Region, HEIR).nama == "Gunung Putih Raya"
        moved = s.scalars(select(Record).order_by(Record.id)).all()
        assert [r.kode_desa for r in moved] == [HEIR, HEIR]
        last = s.scalars(select(RecordVersion).where(RecordVersion.versi == 2).order_by(RecordVersion.id)).all()
        assert [(v.source.value, v.perubahan, v.nilai["kode_desa"]) for v in last] == [
            ("wilayah", {"kode_desa": [MERGED, HEIR], "dasar_wilayah": [None, f"{BASIS[0]}, berlaku 2026-11-01"]}, HEIR)
        ] * 2
        assert all(v.replaces_id is not None for v in last)  # each version follows the record's first
        auditor = Actor.of(users.find_user(s, "auditor.prov"))
        _, timeline = trail.record_timeline(s, auditor, last[0].record_id)  # what the auditor's page lists
        assert ("dasar_wilayah", None, f"{BASIS[0]}, berlaku 2026-11-01") in timeline[-1].changes
        moved_role = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "ROLE_ASSIGNED").order_by(AuditEvent.seq.desc())
        )
        assert moved_role.before["region_kode"] == MERGED and BASIS[0] in moved_role.reason
        roles = s.scalars(
            select(RoleAssignment.region_kode).join(RoleAssignment.user).where(User.username == "op.lain")
        )
        assert list(roles) == [HEIR]
        assert s.get(AgencyToken, token.token.id).region_kode == HEIR
        moved_token = s.scalar(select(AuditEvent).where(AuditEvent.action == "TOKEN_MOVED"))
        assert moved_token.before["wilayah"] == MERGED and BASIS[0] in moved_token.reason
        changes = s.scalars(select(RegionChange).order_by(RegionChange.kode)).all()
        assert [(c.kode, c.perubahan, c.terkait, c.dasar) for c in changes] == [
            (HEIR, "ganti_nama", None, BASIS[0]),
            (MERGED, "berakhir", HEIR, BASIS[0]),
        ]
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).all()]
        assert actions.count("RECORD_MOVED") == 2 and actions[-1] == "REGIONS_UPDATED"
        assert audit.verify_chain(s).ok

    with db.read() as s:  # the period before the merge keeps its figures where they were verified
        figures = aggregates.count_records(s, "65", "2026-Q3")
    assert {desa for desa, _ in figures if desa.count(".") == 3} == {MERGED}
    assert sum(n for (desa, _), n in figures.items() if desa == MERGED) == 2

    # the next period opens every desa of the kecamatan but the ended one; its old period still reads
    opened = cycles.open_cycle(db, SYSTEM, "2026-Q4", "65.01.01")
    with db.read() as s:
        assert MERGED not in set(s.scalars(select(Submission.kode_desa).where(Submission.periode == "2026-Q4")))
        expected = {r.kode: r.expected for r in completeness.tally(s, "2026-Q3", "65.01.01")}
        assert expected[MERGED] == 1  # it reported in 2026-Q3 and is counted there
        assert MERGED not in {r.kode for r in completeness.tally(s, "2026-Q4", "65.01.01")}
    assert opened.expected == sum(1 for k, _ in SEED if k.startswith("65.01.01.")) - 1

    # Gunung Putih's register now holds Pejalin's records: re-verified there, they count there
    with db.read() as s:
        heir = s.scalar(select(Submission.id).where(Submission.kode_desa == HEIR, Submission.periode == "2026-Q4"))
    submit(db, "op.desa", heir)
    for user in ("verif.kec", "verif.kab", "valid.prov"):
        decide(db, user, heir, "approve")
    with db.read() as s:
        figures = aggregates.count_records(s, "65", "2026-Q4")
    assert sum(n for (desa, _), n in figures.items() if desa == HEIR) == 2 and not any(d == MERGED for d, _ in figures)
    with db.transaction() as s:  # the merged desa's series stops: no figure of 0, no "dropped to zero"
        aggregates.snapshot_records(s, SYSTEM, "2026-Q4", "65")
        stored = s.scalars(select(AggregateValue.periode).where(AggregateValue.region_kode == MERGED)).all()
        assert set(stored) == {"2026-Q3"}
        assert not s.scalar(select(func.count()).select_from(QualityFlag).where(QualityFlag.region_kode == MERGED))
        children = aggregates.Context.load(s).child_counts["65.01.01"]
    assert children == sum(1 for k, _ in SEED if k.startswith("65.01.01.")) - 1  # sums judged on desa in use


def test_an_ended_region_takes_no_role_no_submission_no_token_and_is_not_offered(db, people):
    _apply(db, listing(drop={"65.01.01.2009"}))
    with db.transaction() as s:
        with pytest.raises(Invalid, match="sudah berakhir pada 01-11-2026"):
            users.add_user(s, SYSTEM, "op.baru", "operator", "65.01.01.2009")
        with pytest.raises(Invalid, match="sudah berakhir pada 01-11-2026; buka pengajuan di desa penerusnya"):
            submissions.open_submission(s, SYSTEM, "65.01.01.2009", "2027-Q1", "65")
        request = tokens.TokenRequest(instansi="DP3AP2KB", region_kode="65.01.01.2009", resources=("agregat",))
        with pytest.raises(Invalid) as refused:
            tokens.create_token(s, SYSTEM, request)
        assert "sudah berakhir" in refused.value.problems[0].message
        found = administration.search_regions(s, SYSTEM, "Teras", "65")
    assert "65.01.01.2009" not in {r["kode"] for r in found} and "65.01.01.2008" in {r["kode"] for r in found}


def test_a_new_kecamatan_and_its_desa_join_the_cycle_that_is_open_until_its_desa_deadline(db, people):
    cycles.open_cycle(db, SYSTEM, "2026-Q4", "65.01.02")
    with db.read() as s:
        deadline = datetime.fromisoformat(s.scalar(select(Cycle.batas)).get("desa"))
    new = [("65.01.99", "Kecamatan Uji Pemekaran"), ("65.01.99.2001", "Desa Uji Baru")]
    with clock.frozen_at(deadline - timedelta(hours=1)):
        updated = region_updates.update_regions(db, SYSTEM, listing(add=new), ("Kepmendagri", date(2026, 10, 1)), None)
    assert updated.plan.counts["baru"] == 2 and updated.opened == {"2026-Q4": 1}
    with clock.frozen_at(deadline + timedelta(hours=1)):  # formed after it, a desa would start the period late
        late = listing(add=[*new, ("65.01.99.2002", "Desa Uji Lain")])
        assert region_updates.update_regions(db, SYSTEM, late, ("Kepmendagri", date(2026, 10, 1)), None).opened == {}
    with db.read() as s:
        region = s.get(Region, "65.01.99.2001")
        assert (region.tingkat.value, region.induk) == ("desa", "65.01.99")
        assert s.scalar(select(Submission.status).where(Submission.kode_desa == "65.01.99.2001")) == "draf"
        rows = {r.kode: r for r in completeness.tally(s, "2026-Q4", "65.01")}
    assert rows["65.01.99"].expected == 1 and rows["65.01.99"].opened == 1


def test_a_desa_recoded_after_it_reported_is_not_asked_again_and_closed_periods_keep_their_count(db, people):
    cycles.open_cycle(db, SYSTEM, "2026-Q4", "65.01.01")
    verified_records(db, MERGED, (51,), "2026-Q4")
    with db.read() as s:
        before = {r.kode: r.expected for r in completeness.tally(s, "2026-Q4", "65.01")}
    recoded = listing(drop={MERGED}, add=[("65.01.01.1010", "Kelurahan Pejalin")], lama={"65.01.01.1010": MERGED})
    updated = region_updates.update_regions(db, SYSTEM, recoded, BASIS, None)
    assert updated.opened == {}  # Pejalin reported 2026-Q4 under its old code
    with db.transaction() as s:
        assert s.get(Record, s.scalar(select(Record.id))).kode_desa == "65.01.01.1010"
        assert {r.kode: r.expected for r in completeness.tally(s, "2026-Q4", "65.01")} == before
        s.add(Cycle(periode="2026-Q3", region_kode="65", status="ditutup", batas={"desa": "2026-09-30T16:00:00"}))
    new = listing(drop={MERGED}, add=[("65.01.01.1010", "Kelurahan Pejalin"), ("65.01.01.2099", "Desa Uji Baru")])
    with db.read() as s:
        deadline = datetime.fromisoformat(s.scalar(select(Cycle.batas).where(Cycle.periode == "2026-Q4"))["desa"])
    with clock.frozen_at(deadline - timedelta(hours=1)):  # formed while 2026-Q4's desa still submit
        region_updates.update_regions(db, SYSTEM, new, ("Kepmendagri", date(2026, 10, 1)), None)
    with db.read() as s:  # a desa formed after a closed period was not expected in it
        assert not completeness.tally(s, "2026-Q3", "65.01.01")
        assert completeness.tally(s, "2026-Q4", "65.01")[0].expected == before["65.01.01"] + 1


def test_uploading_the_previous_list_again_undoes_an_update(db):
    _apply(db, listing(drop={"65.01.01.2009"}, rename={"65.01.01.2008": "Teras Baru Indah"}))
    undone = _apply(db, listing())
    assert sorted((c.kode, c.perubahan) for c in undone.changes) == [
        ("65.01.01.2008", "ganti_nama"),
        ("65.01.01.2009", "berlaku_lagi"),
    ]
    with db.read() as s:
        assert s.get(Region, "65.01.01.2009").berakhir is None
        assert s.get(Region, "65.01.01.2008").nama == "Teras Baru"
    assert _written(db)[:2] == (4, 0)


def test_a_desa_restored_after_the_desa_deadline_is_not_expected_in_that_period(db, people):
    cycles.open_cycle(db, SYSTEM, "2026-Q4", "65.01.02")
    with db.read() as s:
        deadline = datetime.fromisoformat(s.scalar(select(Cycle.batas)).get("desa"))
    with clock.frozen_at(deadline - timedelta(days=2)):
        region_updates.update_regions(
            db, SYSTEM, listing(drop={"65.01.01.2009"}), ("Kepmendagri", date(2026, 10, 1)), None
        )
    with db.read() as s:
        ended = {r.kode: r.expected for r in completeness.tally(s, "2026-Q4", "65.01")}
    with clock.frozen_at(deadline + timedelta(hours=1)):  # restored once the desa could no longer report
        assert (
            region_updates.update_regions(db, SYSTEM, listing(), ("Kepmendagri", date(2026, 10, 1)), None).opened == {}
        )
    with db.read() as s:
        assert {r.kode: r.expected for r in completeness.tally(s, "2026-Q4", "65.01")} == ended


REFUSED = {
    "no province row": (listing()[1:], "tidak memuat baris provinsi 65"),
    "a desa without its kecamatan": (listing(add=[("65.01.98.2001", "Desa Tanpa Induk")]), "induk 65.01.98"),
    "a code that is no code": (listing(add=[("65.1.1", "Salah")]), "bukan kode Kemendagri"),
    "a code twice": (listing() + listing()[-1:], "sudah tercantum di baris"),
    "a name too long": (listing(rename={HEIR: "x" * 121}), "paling panjang 120 karakter"),
    "an unknown former code": (listing(lama={HEIR: "65.01.01.2999"}), "bukan wilayah provinsi yang dikenal"),
    "a former code of another tier": (listing(lama={HEIR: "65.01.01"}), "di tingkat yang sama"),
    "a list cut short": (
        [r for r in listing() if not r["kode"].startswith("65.02")],
        "daftar tampak tidak lengkap: 1 kabupaten/kota dan",
    ),
    "two heirs of one ended code": (
        listing(drop={MERGED}, lama={HEIR: MERGED, "65.01.01.2007": MERGED}),
        "diteruskan oleh lebih dari satu wilayah",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_list_that_cannot_be_applied_is_refused_row_by_row(db, case):
    rows, said = REFUSED[case]
    with pytest.raises(Invalid) as refused:
        _apply(db, rows)
    assert any(said in p.message for p in refused.value.problems), refused.value.problems
    if case == "a code twice":  # where in the file: the row after the whole list
        assert refused.value.problems[0].row == len(SEED) + 2
    assert _written(db) == (0, 0, len(SEED) - 1)


def test_a_register_without_heir_and_a_submission_being_worked_keep_their_code(db, people):
    verified_records(db, MERGED, (31,))
    open_with_items(db, desa="65.01.01.2007")  # a draft of 2026-Q4
    with pytest.raises(Invalid) as refused:
        _apply(db, listing(drop={MERGED, "65.01.01.2007"}))
    said = [p.message for p in refused.value.problems]
    assert any(f"desa {MERGED} tidak tercantum lagi tetapi registernya berisi 1 catatan aktif" in m for m in said)
    assert any("pengajuan 65.01.01.2007 periode 2026-Q4 masih dikerjakan" in m for m in said)
    assert any(m.startswith("65.01.01.2007: tugas") and "masih terbuka" in m for m in said)
    with pytest.raises(Invalid, match="masih dikerjakan"):  # a kecamatan ends with the drafts of its desa
        _plan(db, [r for r in listing() if not r["kode"].startswith("65.01.01")])
    assert _written(db)[:2] == (0, 0)


def test_a_list_in_capitals_or_with_invisible_characters_renames_nothing(db):
    rows = [{**r, "nama": r["nama"].upper()} for r in listing()]
    rows[1]["nama"] = "Kabupaten\u200b Bulungan"
    assert _plan(db, rows).changes == []


def test_the_basis_the_preview_and_the_person_are_checked(db, people):
    rows = listing(rename={HEIR: "Gunung Putih Raya"})
    with pytest.raises(Invalid) as refused:
        _apply(db, rows, basis=("  ", date(2027, 1, 1)))
    assert {p.column for p in refused.value.problems} == {"dasar", "berlaku"}
    with pytest.raises(Invalid, match="belum lengkap"):  # the preview checks them too, before the file is lost
        region_updates.preview(db, SYSTEM, rows, ("Kepmendagri", date(2999, 1, 1)))
    stale = _plan(db, rows).digest
    _apply(db, listing(rename={"65.01.01.2008": "Teras"}))  # another admin applied a list meanwhile
    with pytest.raises(Conflict, match="berubah sejak pratinjau"):
        _apply(db, rows, digest=stale)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "admin.kab", "admin", "65.01")
        regency = Actor.of(users.find_user(s, "admin.kab"))
    with pytest.raises(Forbidden):
        _plan(db, rows, actor=regency)
    with db.read() as s:
        assert s.get(Region, HEIR).nama == "Gunung Putih"


def test_the_command_line_previews_then_applies_a_tab_separated_list(db, people, cli, tmp_path):
    path = tmp_path / "wilayah-2026.tsv"
    rows = listing(rename={HEIR: "Gunung Putih Raya"}, add=[("65.01.01.2099", "Desa Uji Baru")])
    path.write_text(
        "kode\tnama\tkode_lama\n" + "".join(f"{r['kode']}\t{r['nama']}\t\n" for r in rows), encoding="utf-8"
    )
    args = ["regions", "update", str(path), "--basis", BASIS[0], "--user", "admin.prov", "--effective", "2026-11-01"]
    shown = json.loads(cli(*args, "--dry-run", "--json").output)
    assert (shown["diterapkan"], shown["baru"], shown["ganti_nama"]) == (False, 1, 1)
    assert _written(db)[0] == 0
    done = cli(*args)
    assert "Diterapkan: 1 baru, 1 ganti nama, 0 berakhir, 0 berlaku lagi" in done.output
    with db.read() as s:
        assert s.get(Region, "65.01.01.2099").nama == "Desa Uji Baru"
        assert {who for _, who in region_history.history(s, SYSTEM)} == {"admin.prov"}  # who applied the decree
    future = cli(*args[:-1], "2999-01-01", ok=False)
    assert "tanggal berlaku belum tiba" in future.output + future.stderr


def test_two_confirmations_of_one_preview_apply_it_once(db, people):
    """Two administrators (or one double click) confirm the same preview: the second waits for the
    first, finds the list already as the file says, and writes nothing."""
    verified_records(db, MERGED, (41,))
    rows = listing(drop={MERGED}, lama={HEIR: MERGED})
    digest = _plan(db, rows).digest
    second = first_then_second(
        db,
        lambda s: region_updates.apply_update(s, SYSTEM, rows, "65", BASIS, TODAY, digest),
        lambda: _apply(db, rows, digest=digest),
    )
    assert isinstance(second, region_updates.RegionPlan) and second.changes == []
    with db.read() as s:
        versions = s.scalars(select(RecordVersion.perubahan).order_by(RecordVersion.versi)).all()
        assert versions[-1]["kode_desa"] == [MERGED, HEIR] and len(versions) == 2  # moved once
        assert s.scalar(select(func.count()).select_from(RegionChange)) == 1
