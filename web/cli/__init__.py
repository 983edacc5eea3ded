"""The `sijosku` command line: stable names, `--json` for scripts, exit 1 with a clear message on error.

Each module holds a family of commands; this one gathers them under `main`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import click
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from engine.core import retry
from web.cli import interop, manual, operations, processes, reconciliation, setup, verification

log = logging.getLogger("sijosku.cli")


class _Commands(click.Group):
    """Every command answers in Indonesian: a fault nobody foresaw is one line and exit status 2,
    not a Python traceback (the traceback goes to the log, at DEBUG)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except (OperationalError, ProgrammingError) as exc:
            log.debug("basis data", exc_info=exc)
            if retry.is_lost_race(exc):  # a deadlock or serialisation failure: the timing, not the settings
                raise _Refusal(retry.BUSY) from exc
            cause = _first_line(exc.orig)
            if _NOT_INITIALISED.search(cause):  # foreseen: often a command run outside the service's environment
                raise _Refusal(
                    f"Basis data {_where(ctx)} belum diinisialisasi; periksa DATABASE_URL (perintah dijalankan "
                    "dengan lingkungan layanan?), atau jalankan sijosku init bila memang basis data baru"
                ) from exc
            if isinstance(exc, ProgrammingError):
                raise _Failure(f"Basis data menolak perintah ({cause}); tidak ada yang disimpan") from exc
            raise _Failure(f"Basis data tidak dapat dihubungi: {cause}; periksa DATABASE_URL") from exc
        except SQLAlchemyError as exc:
            log.debug("basis data", exc_info=exc)
            raise _Failure(f"Basis data menolak perintah ({type(exc).__name__}); tidak ada yang disimpan") from exc
        except Exception as exc:
            log.debug("galat tak terduga", exc_info=exc)
            raise _Failure(f"Galat tak terduga ({type(exc).__name__}); tidak ada yang disimpan") from exc


# "no such table" (SQLite), "relation ... does not exist" (PostgreSQL): the schema was never made
_NOT_INITIALISED = re.compile(r"no such table|relation \S+ does not exist")


def _first_line(error: BaseException | None) -> str:
    """The driver's own first line (a refused connection, a database that does not exist, a wrong
    password): what the operator needs to fix. Statement values are hidden (`hide_parameters`)."""
    return (str(error or "").strip().splitlines() or ["?"])[0][:300]


class _Failure(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Galat: {self.message}", file=file, err=True)


class _Refusal(_Failure):
    exit_code = 1  # what a person can put right, as every refusal


def _where(ctx: click.Context) -> str:
    """The database the command used, without its password."""
    db = (ctx.find_root().obj or {}).get("db")
    return make_url(db.settings.database_url).render_as_string(hide_password=True) if db else ""


@click.group(cls=_Commands)
@click.pass_context
def main(ctx: click.Context) -> None:
    """SIJOSKU: verifikasi berjenjang data PPKS. Basis data dipilih dengan DATABASE_URL."""
    ctx.ensure_object(dict)


for _command in (
    *setup.COMMANDS,
    *verification.COMMANDS,
    *processes.COMMANDS,
    *operations.COMMANDS,
    *interop.COMMANDS,
    *reconciliation.COMMANDS,
    *manual.COMMANDS,
):
    main.add_command(_command)
