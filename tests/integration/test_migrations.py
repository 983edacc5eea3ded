"""Schema upgrades run on a database that already holds data, as a deployed one does."""

from __future__ import annotations

from sqlalchemy import func, select

from engine import imports, submissions, users
from engine.config import load_settings
from engine.setup import initialise
from engine.uow import Database
from models import Category, Record
from models.schema import downgrade, upgrade
from tests.factories import SYSTEM, csv_of, person_row


def test_every_migration_upgrades_a_database_in_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'used.db'}"
    db = Database.connect(load_settings({"DATABASE_URL": url, "SIJOSKU_INSTANCE_DIR": str(tmp_path),
                                         "SECRET_KEY": "x"}))
    initialise(db)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "op.desa", "operator", "65.01.01.2005")
        sid = submissions.open_submission(s, SYSTEM, "65.01.01.2005", "2026-Q4", "65").submission.id
        imports.import_items(s, SYSTEM, sid, csv_of([person_row(1)]))
    downgrade(db.engine, "0001")
    upgrade(db.engine)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Category).where(Category.usia_tidak_pasti.is_(True))) >= 2
        assert s.scalar(select(func.count()).select_from(Record)) == 0
    db.dispose()
