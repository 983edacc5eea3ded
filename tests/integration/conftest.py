"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner


@pytest.fixture
def cli(db, instance_dir):
    from web.cli import main  # the command line is a layer above the engine under test

    runner = CliRunner()
    env = {
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "SIJOSKU_INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": "test",
    }

    def invoke(*args, input=None, ok: bool | None = True):
        result = runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        elif ok is not None:  # None: either way
            assert result.exit_code != 0, result.output
        return result

    return invoke


@pytest.fixture
def year(db):
    """The year of a reconciliation: records verified, history and agency figures stored, its people named."""
    from tests.factories import reconciliation_year

    reconciliation_year(db)
    return db
