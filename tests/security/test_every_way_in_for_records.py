"""A desa's register marks, its statements, its imported files and its entries reach the product from the
register and submission pages, the integration API, the command line and the engine's own call. Each way in
refuses the same things: a submission already sent up to the kecamatan, a desa outside the person's region, a
person without the operator's role, a value past its bound. A refusal leaves the submission as it was: no
item, no status, no row on the audit trail."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine.core.errors import Conflict, Forbidden, Invalid, NotFound
from engine.verification import imports, register, submissions
from models import AuditEvent, ImportJob, Submission, SubmissionItem, VervalStatus
from tests.factories import (
    DESA,
    PERIOD,
    actor,
    csv_of,
    items_of,
    open_with_items,
    person_row,
    register_record,
    submit,
)
from tests.integration.entry_steps import _register
from tests.web.page_forms import mark_on_register

REFUSED = (Conflict, Forbidden, Invalid, NotFound)


def _trail(db, *actions: str) -> int:
    """How many rows of these actions the audit trail holds."""
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.in_(actions)))


def _item(db, item_id: int) -> tuple:
    with db.read() as s:
        item = s.get(SubmissionItem, item_id)
        return item.verval, item.aksi, item.verval_alasan, dict(item.data)


def _mark(way, db, cli, signed_in, username, sid, item_id, status="meninggal", reason="meninggal 3 Oktober 2026"):
    """One register record marked the way named; what it left is read from the item."""
    if way == "register page":
        mark_on_register(signed_in(username), sid, {"item_id": item_id, "status": status, "alasan": reason})
    elif way == "command line":
        args = ["submission", "reverify", str(sid), "--user", username, "--item", str(item_id), "--status", status]
        cli(*args, "--reason", reason, ok=None)
    else:
        try:
            with db.transaction() as s:
                register.set_status(s, actor(db, username), sid, [item_id], VervalStatus(status), reason)
        except REFUSED:
            pass


MARKING = ["register page", "command line", "engine"]


@pytest.mark.parametrize("way", MARKING)
def test_a_register_record_of_a_submission_sent_up_is_marked_on_no_way_in(way, db, people, signed_in, cli):
    """Once Gunung Putih's operator has sent the period up, its register record found still eligible stays
    so: marking the person dead afterwards is refused on the page, on the command line and in the engine,
    and the trail gains no status row."""
    sid, (item_id,) = _register(db, 1)
    submit(db, "op.desa", sid)
    before, marks = _item(db, item_id), _trail(db, "ITEM_VERVAL_SET")
    assert before[0] == VervalStatus.LAYAK
    _mark(way, db, cli, signed_in, "op.desa", sid, item_id)
    assert _item(db, item_id) == before
    assert _trail(db, "ITEM_VERVAL_SET") == marks


@pytest.mark.parametrize("way", MARKING)
@pytest.mark.parametrize("username", ["op.lain", "verif.kec"])
def test_a_register_record_is_marked_by_its_own_desas_operator_alone(username, way, db, people, signed_in, cli):
    """The neighbouring desa's operator and the kecamatan's verifier, naming themselves, mark nothing on Gunung
    Putih's register, whichever way they try; its own operator, the same way, marks it."""
    sid, (item_id,) = _register(db, 1)
    before = _item(db, item_id)
    _mark(way, db, cli, signed_in, username, sid, item_id)
    assert _item(db, item_id) == before
    assert _trail(db, "ITEM_VERVAL_SET") == 0
    _mark(way, db, cli, signed_in, "op.desa", sid, item_id)
    assert _item(db, item_id)[0] == VervalStatus.MENINGGAL


def _declare(way, db, cli, signed_in, username, sid, reason="jalan ke dusun putus karena banjir"):
    """The statement that the register could not be checked this period, made the way named."""
    if way == "submission page":
        signed_in(username).post(f"/desa/pengajuan/{sid}/pernyataan", {"aksi": "tidak_diperiksa", "alasan": reason})
    elif way == "command line":
        cli("submission", "declare", str(sid), "--user", username, "--not-checked", reason, ok=None)
    else:
        try:
            with db.transaction() as s:
                register.declare(s, actor(db, username), sid, None, reason)
        except REFUSED:
            pass


def _statement(db, sid: int) -> tuple:
    with db.read() as s:
        found = s.get(Submission, sid)
        return found.nihil, found.tidak_diperiksa


@pytest.mark.parametrize("way", ["submission page", "command line", "engine"])
def test_a_statement_on_a_submission_sent_up_is_refused_on_every_way_in(way, db, people, signed_in, cli):
    """What the kecamatan is judging is what the desa sent: once it is sent up, its operator states nothing
    more about its register (that it could not be checked), from the page, the command line or the engine."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    before, declared = _statement(db, sid), _trail(db, "SUBMISSION_DECLARED")
    _declare(way, db, cli, signed_in, "op.desa", sid)
    assert _statement(db, sid) == before
    assert _trail(db, "SUBMISSION_DECLARED") == declared


@pytest.mark.parametrize("way", ["submission page", "command line", "engine"])
@pytest.mark.parametrize("username", ["op.lain", "verif.kec"])
def test_a_statement_is_made_by_the_desas_own_operator_alone(username, way, db, people, signed_in, cli):
    """Whether Gunung Putih's register could be checked is for its own operator to state: the neighbouring
    desa's operator and the kecamatan's verifier, naming themselves, state nothing of it on any way in."""
    sid = open_with_items(db)
    _declare(way, db, cli, signed_in, username, sid)
    assert _statement(db, sid) == (False, None)
    assert _trail(db, "SUBMISSION_DECLARED") == 0
    _declare(way, db, cli, signed_in, "op.desa", sid)
    assert _statement(db, sid) == (False, "jalan ke dusun putus karena banjir")


IMPORTING = ["upload page", "command line", "integration API", "engine"]


def _import(way, db, cli, signed_in, api, issue_token, tmp_path, username, sid, rows):
    """Rows sent the way named; returns the page's or the API's answer (None for the others)."""
    text = csv_of(rows)
    if way == "upload page":
        files = {"berkas": (io.BytesIO(text.encode()), "desa.csv")}
        return signed_in(username).post(f"/desa/pengajuan/{sid}/impor", files, content_type="multipart/form-data")
    if way == "command line":
        (tmp_path / "desa.csv").write_text(text, encoding="utf-8")
        cli("submission", "import", str(sid), str(tmp_path / "desa.csv"), "--user", username, ok=None)
        return None
    if way == "integration API":  # an agency's token for the person's own region
        region = {"op.desa": DESA, "op.lain": "65.01.01.2006", "verif.kec.lain": "65.01.02"}.get(username, "65.01.01")
        token = issue_token(region=region, resources=("pengajuan",))
        return api("POST", f"/api/v1/submissions/{DESA}/{PERIOD}/items", token, json={"baris": rows})
    try:
        with db.transaction() as s:
            imports.import_items(s, actor(db, username), sid, text)
    except REFUSED:
        pass
    return None


def _jobs(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(ImportJob))


@pytest.mark.parametrize("way", IMPORTING)
def test_a_file_for_a_submission_sent_up_is_refused_whole_and_leaves_nothing(
    way, db, people, signed_in, cli, api, issue_token, tmp_path
):
    """A file for Gunung Putih's period that reaches it after the period was sent up is refused at once,
    however it comes: the upload page says so (409) without queueing an upload, the API answers 409, and no
    item, no queued upload and no import on the trail is left behind."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    held, imported = len(items_of(db, sid)), _trail(db, "SUBMISSION_IMPORTED")
    answer = _import(way, db, cli, signed_in, api, issue_token, tmp_path, "op.desa", sid, [person_row(5)])
    if answer is not None:
        assert answer.status_code == 409, answer.status_code
    assert len(items_of(db, sid)) == held
    assert _trail(db, "SUBMISSION_IMPORTED") == imported
    assert _jobs(db) == 0


@pytest.mark.parametrize("way", IMPORTING)
@pytest.mark.parametrize("username", ["op.lain", "verif.kec.lain"])
def test_a_file_from_outside_the_desa_is_refused_on_every_way_in(
    username, way, db, people, signed_in, cli, api, issue_token, tmp_path
):
    """Gunung Putih's draft takes no file from the neighbouring desa's operator nor from another kecamatan's
    verifier (or an agency token of their region): not uploaded, not from the command line naming them, not
    through the API; nothing of it is written. Its own operator, the same way, imports it."""
    sid = open_with_items(db)
    held = len(items_of(db, sid))
    answer = _import(way, db, cli, signed_in, api, issue_token, tmp_path, username, sid, [person_row(5)])
    if answer is not None:
        assert answer.status_code in (403, 404), answer.status_code
    assert len(items_of(db, sid)) == held
    assert _trail(db, "SUBMISSION_IMPORTED") == 1  # the draft's own two rows, written when it was opened
    _import(way, db, cli, signed_in, api, issue_token, tmp_path, "op.desa", sid, [person_row(5)])
    assert len(items_of(db, sid)) == held + 1


@pytest.mark.parametrize("way", ["item form", *IMPORTING])
def test_a_remark_and_an_address_have_one_bound_whichever_way_they_come(
    way, db, people, signed_in, cli, api, issue_token, tmp_path
):
    """A village's remark or address of 2,000 characters (a long description of a household's situation)
    is taken from the item form, a file, the command line, a desa's app through the API and the engine
    alike; one more character is refused on each, and nothing of that row is written."""
    sid = open_with_items(db, rows=[])
    full = person_row(7, keterangan="k" * 2000, alamat="a" * 2000)
    for row in (person_row(8, keterangan="k" * 2001), person_row(9, alamat="a" * 2001), full):
        if way == "item form":
            signed_in("op.desa").post(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT", {**row})
        else:
            _import(way, db, cli, signed_in, api, issue_token, tmp_path, "op.desa", sid, [row])
    [taken] = items_of(db, sid)
    assert (taken.nik, taken.data["keterangan"], taken.data["alamat"]) == (full["nik"], "k" * 2000, "a" * 2000)


def test_a_file_past_the_upload_bound_is_refused_by_the_command_line_before_it_is_read(db, people, cli, tmp_path):
    """The command line takes no larger a file than the upload page (20 MB): a file one byte past it is
    refused by its size, before it is read, and the draft keeps what it had."""
    sid = open_with_items(db)
    held = len(items_of(db, sid))
    big = tmp_path / "desa-besar.csv"
    with big.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)  # sparse: one byte over 20 MB
    refused = cli("submission", "import", str(sid), str(big), "--user", "op.desa", ok=False)
    assert "terlalu besar: paling besar 20 MB" in refused.output + refused.stderr
    assert len(items_of(db, sid)) == held


@pytest.mark.parametrize("username", ["op.lain", "verif.kec", "verif.kab"])
def test_a_desas_period_is_opened_by_no_one_but_its_own_operator_or_the_system(username, db, people):
    """Opening Gunung Putih's period starts its verification: the neighbouring desa's operator and the
    verifiers above it, acting as themselves, open nothing; no submission and nothing on the trail is left."""
    with pytest.raises(REFUSED), db.transaction() as s:
        submissions.open_submission(s, actor(db, username), DESA, PERIOD, "65")
    with db.read() as s:
        assert s.scalars(select(Submission.id).where(Submission.kode_desa == DESA)).all() == []
    assert _trail(db, "SUBMISSION_OPENED") == 0
    with db.transaction() as s:
        assert submissions.open_submission(s, actor(db, "op.desa"), DESA, PERIOD, "65").created


def test_a_register_the_desa_could_not_check_goes_up_without_judging_the_values_nobody_checked(db, people):
    """A desa that states, with its reason, that its register could not be checked this period sends it up
    as it stood: a record's old values that today's checks would fault (a NIK of twelve digits) are not held
    against a period in which nobody looked at them."""
    with db.transaction() as s:
        s.add(register_record(1, nik="650101170550"))
    sid = open_with_items(db, [])
    with db.transaction() as s:
        register.declare(s, actor(db, "op.desa"), sid, None, "jalan ke dusun putus karena banjir")
    submit(db, "op.desa", sid, reverify=False)
    with db.read() as s:
        assert s.get(Submission, sid).status.value != "draf"
