"""What every `sijosku` command shares: the database, the acting person, output, refusals, files
and times."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from engine.bootstrap import bootstrap
from engine.core import clock, jobs
from engine.core.actors import Actor
from engine.core.config import ConfigError, load_settings
from engine.core.errors import Invalid, Problem, SijoskuError
from engine.core.uow import Database
from engine.people import users
from notifications.plugin import plugin as notifications_plugin

CLI_ACTOR = Actor.system("cli")
MAX_FILE_BYTES = 20 * 1024 * 1024


def emit(as_json: bool, data: Any, text: str | Callable[[], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text() if callable(text) else text)


@contextmanager
def refusals(as_json: bool = False) -> Iterator[None]:
    """Refusals become a message on stderr (and JSON on stdout with --json) and exit status 1."""
    try:
        yield
    except (SijoskuError, ConfigError) as exc:
        if as_json and isinstance(exc, SijoskuError):
            click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))
        click.echo(f"Galat: {exc}", err=True)
        sys.exit(1)


def database(ctx: click.Context) -> Database:
    """The database of this command, with the application registered (events reach the bell and email)."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if "db" not in root.obj:
        with refusals():
            settings = load_settings()
            root.obj["db"] = bootstrap(Database.connect(settings), notifications_plugin(settings))
        root.call_on_close(root.obj["db"].dispose)
    return root.obj["db"]


def acting(session: Any, username: str | None) -> Actor:
    """The person named with --user, or the command line itself (a system actor)."""
    return Actor.of(users.find_user(session, username)) if username else CLI_ACTOR


def read_file(path: Path) -> bytes:
    """A file's bytes, bounded in size; an unreadable file is a refusal, not a traceback."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise Invalid(f"Berkas {path} terlalu besar: paling besar {MAX_FILE_BYTES // (1024 * 1024)} MB")
        return path.read_bytes()
    except OSError as exc:
        raise Invalid(f"Berkas {path} tidak dapat dibaca", [Problem(str(exc))]) from exc


def read_text(path: Path, what: str) -> str:
    try:
        return read_file(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"Berkas {path} tidak dapat dibaca sebagai {what} UTF-8", [Problem(str(exc))]) from exc


def local_time(value: datetime | str | None) -> str:
    """A stored instant (UTC) as the office reads it: "2028-01-10 07:00 WITA"."""
    if not value:
        return "-"
    return clock.instant(value).astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M %Z")


def moment(text: str | None, db: Database) -> datetime | None:
    """A `--now` value: ISO 8601, in the province's zone when it names none."""
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"--now {text!r} bukan waktu ISO 8601, mis. 2026-12-20T08:00:00+08:00") from exc
    return found if found.tzinfo is not None else found.replace(tzinfo=db.settings.tz)


def rehearsal_moment(text: str | None, db: Database, rehearsal: bool, past_allowed: bool = False) -> datetime | None:
    """A `--now` for work done for good (a job, the timers, a prune): a time other than the clock's only
    on a copy of the database kept for rehearsal, said with `--latihan`. On the live one, what it does
    would carry that time: audit rows pinned ahead (the chain never runs backwards), e-mails held until
    then, that minute's or day's run taken from the scheduler, kept state pruned early."""
    found = moment(text, db)
    if found is None or rehearsal:
        return found
    ahead = found - clock.now()
    if ahead > jobs.MAX_SKEW or (ahead < -jobs.MAX_SKEW and not past_allowed):
        when = "masa depan" if ahead > timedelta(0) else "masa lalu"
        raise Invalid(
            f"--now {text} ada di {when}: yang dijalankan tercatat dengan waktu itu untuk selamanya (jejak "
            "audit, surel, jalan penjadwal hari itu). Hanya pada salinan basis data untuk latihan: tambahkan "
            "--latihan"
        )
    return found


def rehearsal_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    help_text = "izinkan --now selain jam sekarang: hanya pada salinan basis data untuk latihan"
    return click.option("--latihan", "rehearsal", is_flag=True, help=help_text)(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="keluaran JSON untuk skrip")(fn)
