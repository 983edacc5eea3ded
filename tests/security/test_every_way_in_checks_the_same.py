"""Each use case reached from more than one place (the task page, the inbox's bulk form, the command
line, the engine's own call) refuses the same things: a task outside the person's region, a reason
past its bound, a form built from a state that has changed since, a person without the role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.core.actors import Actor
from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.people import administration, users
from engine.verification import bulk_approval, claims, cycles, decisions, items, record_history
from models import AuditEvent, HumanTask, ProcessInstance, Region, Submission, SubmissionItem, TaskStatus, Tier, User
from tests.factories import DESA, csv_of, open_task, open_with_items, person_row, submit

LONG = "x" * 2001  # one past the 2,000 characters a decision's reason holds on the page


def _open(db, task_id: int) -> bool:
    with db.read() as s:
        task = s.get(HumanTask, task_id)
        return task.status == TaskStatus.TERBUKA and task.completed_by_id is None


def _revision(db, task_id: int) -> int:
    with db.read() as s:
        return s.get(ProcessInstance, s.get(HumanTask, task_id).instance_id).revision


def _decisions_on_trail(db, task_id: int) -> int:
    with db.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.human_task_id == task_id)).all()
    return sum(1 for r in rows if r.action == "TASK_COMPLETED")


def _as(db, username: str) -> Actor:
    with db.read() as s:
        return Actor.of(users.find_user(s, username))


def _on_the_page(signed_in, username, task_id, **form):
    person = signed_in(username)
    return person.post(f"/tugas/{task_id}/selesai", form, token_from="/tugas/")


def _in_bulk_on_the_page(signed_in, username, task_id, **form):
    person = signed_in(username)
    data = {"pilihan": "dipilih", "task_id": str(task_id), "kembali": "/tugas/", **form}
    return person.post("/tugas/setujui", data, token_from="/tugas/")


def _in_the_engine(db, username, task_id, **form):
    command = decisions.DecisionCommand(
        task_id=task_id,
        keputusan=form.get("keputusan", "setuju"),
        alasan=form.get("alasan"),
        semua_sesuai=True,
        revisi_instans=form.get("revisi_instans"),
    )
    with db.transaction() as s:
        return decisions.decide(s, _as(db, username), command)


WAYS_IN = ["task page", "command line", "bulk on the inbox", "bulk command", "engine"]


def _decide(way, db, cli, signed_in, username, task_id, decision="approve", reason=None, revision=None):
    """One decision sent the way named; returns nothing: what it left is read from the task."""
    word = {"approve": "setuju", "return": "kembalikan"}[decision]
    if way == "task page":
        form = {"keputusan": word, "alasan": reason or ""}
        if revision is not None:
            form["revisi_instans"] = str(revision)
        _on_the_page(signed_in, username, task_id, **form)
    elif way == "command line":
        args = ["task", "complete", str(task_id), "--user", username, "--decision", decision, "--all-in-order"]
        args += ["--reason", reason] if reason is not None else []
        args += ["--revision", str(revision)] if revision is not None else []
        cli(*args, ok=None)
    elif way == "bulk on the inbox":
        _in_bulk_on_the_page(signed_in, username, task_id, keputusan=word, alasan=reason or "")
    elif way == "bulk command":
        assert decision == "approve", "the command approves only"
        args = ["task", "approve-many", str(task_id), "--user", username]
        cli(*(args + (["--reason", reason] if reason is not None else [])), ok=None)
    else:
        try:
            _in_the_engine(db, username, task_id, keputusan=word, alasan=reason, revisi_instans=revision)
        except (Invalid, Conflict, Forbidden, NotFound):
            pass


@pytest.mark.parametrize("way", WAYS_IN)
def test_a_task_of_another_regency_is_decided_on_no_way_in(way, db, world, signed_in, cli):
    """Malinau's kabupaten verifier finds Bulungan's task nowhere: not on its page, not in a bulk
    approval, not from the command line; it stays open and nothing of it is on the trail."""
    _decide(way, db, cli, signed_in, "verif.kab.lain", world.kab_task)
    assert _open(db, world.kab_task)
    assert _decisions_on_trail(db, world.kab_task) == 0
    _decide(way, db, cli, signed_in, "verif.kab", world.kab_task)  # Bulungan's own verifier, the same way
    assert not _open(db, world.kab_task)
    assert _decisions_on_trail(db, world.kab_task) == 1


@pytest.mark.parametrize("way", WAYS_IN)
def test_a_task_a_colleague_holds_is_decided_on_no_way_in(way, db, world, signed_in, cli, password_hash):
    """While one Bulungan verifier holds the task's claim, a second one of the same regency decides
    it on no way in; the claim and the task stay as they were."""

    with db.transaction() as s:
        users.add_user(s, Actor.system("test"), "verif.kab.dua", "verifier", "65.01").password_hash = password_hash
    with db.transaction() as s:
        claims.claim(s, _as(db, "verif.kab"), world.kab_task)
    _decide(way, db, cli, signed_in, "verif.kab.dua", world.kab_task)
    assert _open(db, world.kab_task)
    with db.read() as s:
        assert s.get(HumanTask, world.kab_task).assignee_id == _as(db, "verif.kab").user_id


@pytest.mark.parametrize("way", WAYS_IN)
def test_a_return_reason_past_its_bound_is_refused_on_every_way_in(way, db, world, signed_in, cli):
    """A reason of more than 2,000 characters is refused however the return (or the approval's
    note) is sent; the task stays open."""
    decision = "approve" if way == "bulk command" else "return"
    _decide(way, db, cli, signed_in, "verif.kab", world.kab_task, decision=decision, reason=LONG)
    assert _open(db, world.kab_task)
    _decide(way, db, cli, signed_in, "verif.kab", world.kab_task, decision=decision, reason="x" * 2000)
    assert not _open(db, world.kab_task)  # at the bound itself, it is taken


@pytest.mark.parametrize("way", ["task page", "command line", "engine"])
def test_a_decision_from_a_form_of_an_older_state_is_refused(way, db, world, signed_in, cli):
    """A decision carrying the revision its form was built from is refused once the process has moved
    on since, whichever way it is sent; with the current revision it is taken."""
    current = _revision(db, world.kab_task)
    _decide(way, db, cli, signed_in, "verif.kab", world.kab_task, revision=current - 1)
    assert _open(db, world.kab_task)
    _decide(way, db, cli, signed_in, "verif.kab", world.kab_task, revision=current)
    assert not _open(db, world.kab_task)


def test_bulk_approval_is_refused_at_the_kecamatan_on_every_way_in(db, people, signed_in, cli):
    """The kecamatan judges each item itself: its verifier approves nothing in bulk, from the inbox's
    form, from the command line or in the engine."""

    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    task = open_task(db, sid, "kecamatan")
    _in_bulk_on_the_page(signed_in, "verif.kec", task.id, keputusan="setuju")
    result = cli("task", "approve-many", str(task.id), "--user", "verif.kec", ok=False)
    assert "kabupaten/kota dan provinsi" in result.output + result.stderr
    with db.transaction() as s, pytest.raises(Forbidden):
        bulk_approval.approve_many(s, _as(db, "verif.kec"), task_ids=[task.id])
    assert _open(db, task.id)


@pytest.mark.parametrize("username", ["verif.kec", "op.desa", "admin.prov"])
def test_a_persons_history_by_nik_is_opened_by_auditors_alone(username, db, world, cli):
    """The whole history of a person by NIK is an auditor's: a verifier, an operator or an administrator
    naming themselves on the command line is refused, as the engine refuses them, and nothing is
    shown."""
    nik = person_row(7)["nik"]
    result = cli("records", "history", nik, "--alasan", "pemeriksaan BPK 2026", "--user", username, ok=False)
    assert nik not in result.output
    with db.transaction() as s, pytest.raises((Forbidden, NotFound)):
        record_history.history(s, _as(db, username), nik, "pemeriksaan BPK 2026")
    shown = cli("records", "history", nik, "--alasan", "pemeriksaan BPK 2026", "--user", "auditor.prov", "--json")
    assert nik in shown.output


def _closed_cycle_of_one_kecamatan(db) -> str:
    """The cycle of 2026-Q4 opened for Tanjung Palas alone and then closed; a desa of the next
    kecamatan, never opened in it."""

    admin = Actor.system("test")
    cycles.open_cycle(db, admin, "2026-Q4", region="65.01.01")
    cycles.close_cycle(db, admin, "2026-Q4", early=True)
    with db.read() as s:
        return s.scalar(
            select(Region.kode).where(Region.tingkat == Tier.DESA, Region.kode.like("65.01.02.%")).order_by(Region.kode)
        )


def _submissions_of(db, desa: str) -> int:

    with db.read() as s:
        return len(s.scalars(select(Submission.id).where(Submission.kode_desa == desa)).all())


def test_a_closed_cycle_opens_no_more_desa_from_the_cycle_command(db, cli):
    """Once the period's cycle is closed, opening it again for another region is refused."""
    desa = _closed_cycle_of_one_kecamatan(db)
    result = cli("cycle", "open", "2026-Q4", "--region", "65.01.02", ok=False)
    assert "sudah ditutup" in result.output + result.stderr
    assert _submissions_of(db, desa) == 0


def test_a_closed_cycle_opens_no_desa_from_the_submission_command(db, cli):
    """Once the period's cycle is closed, no desa's submission is started in it one by one either."""
    desa = _closed_cycle_of_one_kecamatan(db)
    result = cli("submission", "open", "--desa", desa, "--period", "2026-Q4", ok=False)
    assert "sudah ditutup" in result.output + result.stderr
    assert _submissions_of(db, desa) == 0


@pytest.mark.parametrize("way", ["command line import", "integration API", "entry form in the engine"])
def test_a_desa_not_reported_in_a_closed_cycle_takes_no_new_items(way, db, people, cli, api, issue_token, tmp_path):
    """Gunung Putih sent nothing before its cycle closed and is marked not reported: no item reaches
    that submission afterwards, from a file, from another agency's system or from the form."""

    admin = Actor.system("test")
    cycles.open_cycle(db, admin, "2026-Q4", region="65.01.01")
    cycles.close_cycle(db, admin, "2026-Q4", early=True)
    with db.read() as s:
        sid = s.scalar(select(Submission.id).where(Submission.kode_desa == DESA, Submission.periode == "2026-Q4"))
        assert s.get(Submission, sid).status.value == "tidak_melapor"
    if way == "command line import":
        (tmp_path / "desa.csv").write_text(csv_of([person_row(1)]), encoding="utf-8")
        cli("submission", "import", str(sid), str(tmp_path / "desa.csv"), "--user", "op.desa", ok=False)
    elif way == "integration API":
        token = issue_token(region="65.01.01", resources=("pengajuan",))
        sent = api("POST", f"/api/v1/submissions/{DESA}/2026-Q4/items", token, json={"baris": [person_row(1)]})
        assert sent.status_code == 409, sent.get_json()
    else:
        with db.transaction() as s, pytest.raises(Conflict):
            items.save_item(s, _as(db, "op.desa"), sid, person_row(1))
    with db.read() as s:
        assert s.scalars(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid)).all() == []


@pytest.mark.parametrize("way", WAYS_IN)
def test_who_approved_at_the_kecamatan_decides_nothing_at_the_kabupaten(way, db, world, signed_in, cli):
    """Four eyes: the kecamatan verifier who approved Gunung Putih's submission, given the regency's
    role as well, decides its kabupaten task on no way in."""

    with db.transaction() as s:
        kec = s.scalar(select(User).where(User.username == "verif.kec"))
        administration.assign_role(s, Actor.system("test"), kec.id, "verifier", "65.01")
    _decide(way, db, cli, signed_in, "verif.kec", world.kab_task)
    assert _open(db, world.kab_task)
    assert _decisions_on_trail(db, world.kab_task) == 0
    with pytest.raises(Forbidden, match="dua tingkat"):  # the task is theirs to see: the rule refuses it
        _in_the_engine(db, "verif.kec", world.kab_task)
