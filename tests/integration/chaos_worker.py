"""One chaos process: people and the scheduler acting at random on a shared PostgreSQL database,
until a deadline or until the test kills it (kill -9). Every HTTP answer is logged, one line each,
so that the test can prove no 500 was served even by a process that died.

Run as `python -m tests.integration.chaos_worker URL ROLE SEED DEADLINE LOG`."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from engine.bootstrap import bootstrap
from engine.bpmn import definitions
from engine.core.actors import Actor
from engine.core.config import DEFAULT_BPMN_DIR, load_settings
from engine.core.errors import SijoskuError
from engine.core.uow import Database
from engine.people import users
from engine.verification import cycles, imports, submissions
from models import HumanTask, Submission, SubmissionItem, SubmissionStatus, TaskStatus
from tests.factories import PASSWORD, confirm_register, csv_of, person_row
from web.app import create_app

SYSTEM = Actor.system("kekacauan")
VERIFIERS = {
    "kecamatan": ["kacau.kec1", "kacau.kec2"],
    "kabupaten": ["kacau.kab1", "kacau.kab2"],
    "provinsi": ["kacau.prov1", "kacau.prov2"],
}
PERIODS = ("2027-Q1", "2027-Q2")
KECAMATAN = "65.01.01"


class Web:
    """Signed-in test clients, one per verifier; every answer goes to the log."""

    def __init__(self, db: Database, log: TextIO) -> None:
        self.app = create_app(db.settings, db)
        self.app.config["WTF_CSRF_ENABLED"] = False
        self.log, self.clients = log, {}

    def client(self, username: str) -> Any:
        if username not in self.clients:
            client = self.app.test_client()
            self.call(client, "post", "/masuk", data={"username": username, "password": PASSWORD})
            self.clients[username] = client
        return self.clients[username]

    def call(self, client: Any, method: str, path: str, **kw: Any) -> int:
        status: int = getattr(client, method)(path, **kw).status_code
        self.log.write(f"{status} {method.upper()} {path}\n")
        return status


def _open_tasks(db: Database) -> list[tuple[int, str]]:
    with db.read() as s:
        rows = s.execute(
            select(HumanTask.id, HumanTask.tingkat).where(
                HumanTask.status == TaskStatus.TERBUKA, HumanTask.tingkat != "desa"
            )
        ).all()
    return [(task_id, tier.value) for task_id, tier in rows]


def verifier_step(db: Database, web: Web, rng: random.Random) -> None:
    tasks = _open_tasks(db)
    if not tasks:
        web.call(web.client(rng.choice(VERIFIERS["kecamatan"])), "get", "/tugas/")
        return
    task_id, tier = rng.choice(tasks)
    client = web.client(rng.choice(VERIFIERS[tier]))
    action = rng.choices(["inbox", "page", "claim", "unclaim", "bulk", "approve", "return"], [2, 2, 2, 1, 2, 4, 1])[0]
    if action == "inbox":
        web.call(client, "get", "/tugas/")
    elif action == "page":
        web.call(client, "get", f"/tugas/{task_id}")
    elif action in ("claim", "unclaim"):
        web.call(client, "post", f"/tugas/{task_id}/{'klaim' if action == 'claim' else 'lepas'}")
    elif action == "bulk":
        same = [t for t, t_tier in tasks if t_tier == tier]
        chosen = rng.sample(same, min(len(same), 6))
        data = {"task_id": [str(t) for t in chosen], "aksi": rng.choice(["klaim", "klaim", "lepas"])}
        web.call(client, "post", "/tugas/klaim", data=data)
    else:  # as the task page works: claim, judge every item, decide
        web.call(client, "post", f"/tugas/{task_id}/klaim")
        data = {"keputusan": "setuju"} if action == "approve" else {"keputusan": "kembalikan", "alasan": "periksa"}
        web.call(client, "post", f"/tugas/{task_id}/selesai", data={**data, **_all_in_order(db, task_id)})


def _all_in_order(db: Database, task_id: int) -> dict[str, str]:
    with db.read() as s:
        items = s.scalars(
            select(SubmissionItem.id)
            .join(HumanTask, HumanTask.submission_id == SubmissionItem.submission_id)
            .where(HumanTask.id == task_id)
        ).all()
    return {f"verdict_{i}": "sesuai" for i in items}


def operator_step(db: Database, rng: random.Random) -> None:
    with db.read() as s:
        waiting = s.execute(
            select(Submission.id, Submission.kode_desa).where(
                Submission.status.in_([SubmissionStatus.DRAF, SubmissionStatus.DIKEMBALIKAN])
            )
        ).all()
    if not waiting:
        return
    submission_id, desa = rng.choice(waiting)
    with db.transaction() as s:
        operator = Actor.of(users.find_user(s, f"op.{desa}"))
        serial = 100 + _desa_index(s, desa) * 10 + rng.randint(1, 3)  # NIKs of their own per desa
        imports.import_items(s, operator, submission_id, csv_of([person_row(serial)]))
    with db.transaction() as s:
        operator = Actor.of(users.find_user(s, f"op.{desa}"))
        confirm_register(s, operator, submission_id)
        submissions.submit(s, operator, submission_id)


def _desa_index(session: Any, desa: str) -> int:
    codes = session.scalars(select(Submission.kode_desa).distinct().order_by(Submission.kode_desa)).all()
    return list(codes).index(desa)


def admin_step(db: Database, rng: random.Random) -> None:
    if rng.random() < 0.7:
        cycles.open_cycle(db, SYSTEM, rng.choice(PERIODS), region=KECAMATAN)
        return
    xml = (DEFAULT_BPMN_DIR / "verifikasi_berjenjang.bpmn").read_text(encoding="utf-8")
    if rng.random() < 0.5:  # a new version (content differs only in a comment)
        xml = xml.replace("?>", f"?><!-- versi {rng.randint(1, 3)} -->", 1)
    with db.transaction() as s:
        definitions.deploy(s, SYSTEM, xml)


def main(url: str, role: str, seed: int, deadline: float, log_path: str) -> None:
    settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": "kacau", "SIJOSKU_INSTANCE_DIR": "/tmp"})
    db = bootstrap(Database.connect(settings))
    rng = random.Random(seed)
    with Path(log_path).open("a", buffering=1) as log:
        web = Web(db, log)
        while time.time() < deadline:
            try:
                if role == "verifier":
                    verifier_step(db, web, rng)
                elif role == "operator":
                    operator_step(db, rng)
                    log.write("done operator\n")
                else:
                    admin_step(db, rng)
                    log.write("done admin\n")
            except SijoskuError as exc:  # a refusal people would see as a 4xx page
                log.write(f"refused {role} {type(exc).__name__}: {str(exc)[:80]!r}\n")
            except DBAPIError as exc:  # engine-level calls have no web retry around them
                log.write(f"db {type(exc.orig).__name__}\n")
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
