"""A BPMN timer date written without its zone would be read in the server's zone: it is refused, and
the same text gives the same answer under any server zone."""

import os
import subprocess
import sys
from datetime import datetime

CODE = (
    "from zoneinfo import ZoneInfo\n"
    "from engine.bpmn import lint, timers\n"
    "from engine.core import clock\n"
    "from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as T\n"
    "clock.use_zone(ZoneInfo('Asia/Makassar'))\n"
    "timers.follow_engine_clock()  # as the composition root does\n"
    "print(lint._timer_problem('Batas', '2027-01-31T00:00:00', True))\n"
    "print(T.get_datetime('2027-01-31T00:00:00').isoformat())  # a version stored before the refusal\n"
)


def _read_under(tz: str) -> str:
    env = {**os.environ, "TZ": tz}
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout


def test_a_zoneless_timer_date_is_refused_or_read_in_wita_whatever_the_server_zone():
    answers = {tz: _read_under(tz).splitlines() for tz in ("UTC", "Asia/Makassar")}
    assert answers["UTC"] == answers["Asia/Makassar"], answers
    refused, read = answers["UTC"]
    assert "harus menyebut zonanya" in refused  # a new deploy is refused
    assert datetime.fromisoformat(read) == datetime.fromisoformat("2027-01-31T00:00:00+08:00")  # read in WITA


def test_a_midnight_deadline_is_said_as_the_end_of_the_day_before():
    from engine.core.config import load_settings
    from notifications.templates import moment

    settings = load_settings({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    midnight = "2027-04-30T16:00:00+00:00"  # 00:00 WITA, 1 May
    assert moment(midnight, settings, deadline=True) == "30 April 2027 pukul 24.00 WITA"
    assert moment(midnight, settings) == "1 Mei 2027 pukul 00.00 WITA"  # something that happened then
    assert moment("2027-01-23T23:00:00+00:00", settings) == "24 Januari 2027 pukul 07.00 WITA"
