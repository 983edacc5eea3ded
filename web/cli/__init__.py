"""The `sijosku` command line: stable names, `--json` for scripts, exit 1 with a clear message on error.

Each module holds a family of commands; this one gathers them under `main`.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from sqlalchemy.exc import OperationalError, SQLAlchemyError

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
        except OperationalError as exc:
            log.debug("basis data", exc_info=exc)
            raise _Failure("Basis data tidak dapat dihubungi atau menolak perintah; periksa DATABASE_URL") from exc
        except SQLAlchemyError as exc:
            log.debug("basis data", exc_info=exc)
            raise _Failure(f"Basis data menolak perintah ({type(exc).__name__}); tidak ada yang disimpan") from exc
        except Exception as exc:
            log.debug("galat tak terduga", exc_info=exc)
            raise _Failure(f"Galat tak terduga ({type(exc).__name__}); tidak ada yang disimpan") from exc


class _Failure(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Galat: {self.message}", file=file, err=True)


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
