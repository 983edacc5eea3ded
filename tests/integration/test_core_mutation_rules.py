"""Settings, retries and the rows a transaction writes as it commits.

- Every setting read at start: its default, the values refused by the setting's name (words where
  numbers belong, zero where a time must pass, unknown modes, zones and provinces, deadlines beyond a
  year), and the values brought within bounds (attempts, batch and page sizes).
- Calls to another system: what answer counts as data, the credentials sent, what is tried again.
- The audit rows and outbox events a transaction buffers reach the database whole as it commits, on
  either database, and a savepoint that rolls back drops only its own.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import select

from engine.core import audit, events, resilience, retry
from engine.core.audit import AuditAction
from engine.core.config import ConfigError, ServiceSettings, load_settings
from engine.core.errors import Conflict
from engine.core.resilience import BreakerState, ServiceClient, ServiceUnavailable
from models import AuditEvent, OutboxEvent
from tests.factories import KABUPATEN, PERIOD, PROVINSI, SYSTEM
from tests.integration.test_cycle_and_core_rules import _lost
from tests.integration.test_setup_and_unit_of_work_rules import _a_lapsed_trial


@pytest.fixture
def env(tmp_path):
    return {"SECRET_KEY": "uji", "SIJOSKU_INSTANCE_DIR": str(tmp_path)}


# --- settings: defaults ----------------------------------------------------------------------------------


def test_an_unset_setting_takes_its_documented_default(env):
    settings = load_settings(env)
    assert (settings.province, settings.timezone, settings.default_sla) == ("65", "Asia/Makassar", "P14D")
    assert (settings.db_connect_timeout, settings.db_statement_timeout, settings.session_idle_minutes) == (5, 30, 120)
    assert (settings.proxy_hops, settings.import_poll, settings.https, settings.log_json) == (0, 50, False, False)
    assert settings.base_url == "http://127.0.0.1:5000" and settings.ratelimit_storage == "memory://"
    smtp = settings.smtp
    assert (smtp.host, smtp.port, smtp.tls, smtp.sender) == ("", 587, "starttls", "sijosku@localhost")
    for service in (settings.dukcapil, settings.dtsen):
        assert (service.base_url, service.timeout, service.retries, service.backoff) == ("", 10.0, 3, 0.5)
        assert (service.breaker_failures, service.breaker_reset) == (5, 60.0)
    assert settings.dukcapil.batch == 200
    assert (settings.dtsen.max_rows, settings.dtsen.page_size) == (5_000_000, 10_000)


@pytest.mark.parametrize("written", ["1", "true", "TRUE", "ya", "Ya", "yes"])
def test_a_switch_is_on_when_written_yes_in_indonesian_or_english(env, written):
    assert load_settings({**env, "SIJOSKU_LOG_JSON": written}).log_json is True


@pytest.mark.parametrize("written", ["0", "tidak", "no", "false", ""])
def test_a_switch_is_off_for_anything_else(env, written):
    assert load_settings({**env, "SIJOSKU_LOG_JSON": written}).log_json is False


def test_addresses_lose_a_trailing_slash_so_links_never_hold_two(env):
    settings = load_settings(
        {
            **env,
            "SIJOSKU_BASE_URL": "https://sijosku.kaltaraprov.go.id/",
            "SIJOSKU_DUKCAPIL_URL": "https://nik.test/api/",
        }
    )
    assert settings.base_url == "https://sijosku.kaltaraprov.go.id"
    assert settings.dukcapil.base_url == "https://nik.test/api"


# --- settings: refused by name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["SIJOSKU_SMTP_PORT", "SIJOSKU_PROXY_HOPS", "SIJOSKU_IMPORT_POLL", "SIJOSKU_DUKCAPIL_RETRIES"]
)
@pytest.mark.parametrize("written", ["dua", "-1", "1.5", "", "٣"])
def test_a_whole_number_written_otherwise_is_refused_by_its_name(env, name, written):
    with pytest.raises(ConfigError, match=f"{name} harus bilangan bulat"):
        load_settings({**env, name: written})


@pytest.mark.parametrize(
    "name", ["SIJOSKU_DB_CONNECT_TIMEOUT", "SIJOSKU_DB_STATEMENT_TIMEOUT", "SIJOSKU_SESSION_IDLE_MINUTES"]
)
def test_a_time_limit_of_zero_is_refused_and_one_is_taken(env, name):
    """Zero would mean no limit at all to the database, or a session signed out at its first request."""
    with pytest.raises(ConfigError, match=f"{name} harus lebih dari 0"):
        load_settings({**env, name: "0"})
    field = {"SIJOSKU_DB_CONNECT_TIMEOUT": "db_connect_timeout", "SIJOSKU_DB_STATEMENT_TIMEOUT": "db_statement_timeout"}
    assert getattr(load_settings({**env, name: "1"}), field.get(name, "session_idle_minutes")) == 1


def test_a_refused_idle_time_is_said_in_minutes_as_it_is_written(env):
    with pytest.raises(ConfigError) as refused:
        load_settings({**env, "SIJOSKU_SESSION_IDLE_MINUTES": "0"})
    assert "detik" not in str(refused.value) and "menit" in str(refused.value)


@pytest.mark.parametrize("mode", ["starttls", "ssl", "none"])
def test_each_mail_security_mode_is_taken(env, mode):
    assert load_settings({**env, "SIJOSKU_SMTP_TLS": mode}).smtp.tls == mode


def test_an_unknown_mail_security_mode_is_refused_not_left_to_fail_at_the_first_email(env):
    with pytest.raises(ConfigError, match="SIJOSKU_SMTP_TLS harus starttls, ssl atau none, bukan 'tls'"):
        load_settings({**env, "SIJOSKU_SMTP_TLS": "tls"})


def test_service_waits_may_be_zero_but_not_negative_nor_words(env):
    taken = load_settings({**env, "SIJOSKU_DTSEN_BACKOFF": "0", "SIJOSKU_DTSEN_BREAKER_RESET": "0"}).dtsen
    assert (taken.backoff, taken.breaker_reset) == (0.0, 0.0)
    assert load_settings({**env, "SIJOSKU_DUKCAPIL_TIMEOUT": "2.5"}).dukcapil.timeout == 2.5
    with pytest.raises(ConfigError, match="SIJOSKU_DUKCAPIL_TIMEOUT tidak boleh negatif"):
        load_settings({**env, "SIJOSKU_DUKCAPIL_TIMEOUT": "-1"})
    with pytest.raises(ConfigError, match="SIJOSKU_DTSEN_BACKOFF harus angka, bukan 'sebentar'"):
        load_settings({**env, "SIJOSKU_DTSEN_BACKOFF": "sebentar"})


@pytest.mark.parametrize("written", ["nan", "inf"])
def test_a_service_wait_that_is_no_number_of_seconds_is_refused(env, written):
    """A backoff of NaN stops the first retry with Python's own error; a reset of NaN never holds the
    breaker open; an infinite timeout waits for ever."""
    for name in ("SIJOSKU_DTSEN_BACKOFF", "SIJOSKU_DTSEN_BREAKER_RESET", "SIJOSKU_DTSEN_TIMEOUT"):
        with pytest.raises(ConfigError, match=name):
            load_settings({**env, name: written})


@pytest.mark.parametrize("url", ["ftp://dukcapil.test", "dukcapil.test", "HTTP//dukcapil.test"])
def test_a_registry_address_that_is_not_http_is_refused(env, url):
    with pytest.raises(ConfigError, match="SIJOSKU_DUKCAPIL_URL harus http:// atau https://"):
        load_settings({**env, "SIJOSKU_DUKCAPIL_URL": url})


@pytest.mark.parametrize("url", ["http://localhost:8089", "http://[::1]:8089"])
def test_a_simulator_on_this_machine_may_be_called_over_plain_http_in_production(env, url):
    production = {**env, "SECRET_KEY": "k" * 32, "SIJOSKU_HTTPS": "1"}
    assert load_settings({**production, "SIJOSKU_DTSEN_URL": url}).dtsen.base_url == url


@pytest.mark.parametrize("province", ["6", "650", "ab", "６５"])
def test_a_province_code_is_two_digits(env, province):
    with pytest.raises(ConfigError, match="SIJOSKU_PROVINCE harus kode provinsi dua angka"):
        load_settings({**env, "SIJOSKU_PROVINCE": province})


@pytest.mark.parametrize("zone", ["Asia/Tarakan", "", "../Asia/Makassar", "/etc/localtime"])
def test_an_unknown_or_malformed_time_zone_is_refused_by_name(env, zone):
    with pytest.raises(ConfigError, match="SIJOSKU_TIMEZONE tidak dikenal"):
        load_settings({**env, "SIJOSKU_TIMEZONE": zone})


@pytest.mark.parametrize("written", ["P1Y", "P366D", "PT8784H", "P52W", "P1DT12H"])
def test_a_deadline_of_up_to_a_year_is_taken(env, written):
    assert load_settings({**env, "SIJOSKU_DEFAULT_SLA": written}).default_sla == written


@pytest.mark.parametrize("written", ["P367D", "PT8785H", "P1Y1D", "P1DT", "P53W"])
def test_a_deadline_beyond_a_year_or_cut_short_is_refused(env, written):
    with pytest.raises(ConfigError, match="SIJOSKU_DEFAULT_SLA"):
        load_settings({**env, "SIJOSKU_DEFAULT_SLA": written})


def test_a_retention_rule_written_with_spaces_names_its_process_key_without_them(env):
    written = " verifikasi_berjenjang = 1825 ,lain= 30"
    assert load_settings({**env, "SIJOSKU_INSTANCE_RETENTION": written}).instance_retention == (
        ("verifikasi_berjenjang", 1825),
        ("lain", 30),
    )


# --- settings: brought within bounds ---------------------------------------------------------------------


def test_sizes_and_attempts_of_zero_become_one_and_a_dtsen_page_is_at_most_a_hundred_thousand_rows(env):
    zero = {
        f"SIJOSKU_{name}": "0"
        for name in ("DUKCAPIL_RETRIES", "DUKCAPIL_BREAKER_FAILURES", "DUKCAPIL_BATCH", "DTSEN_MAX_ROWS")
    }
    settings = load_settings({**env, **zero, "SIJOSKU_DTSEN_PAGE_SIZE": "0"})
    assert (settings.dukcapil.retries, settings.dukcapil.breaker_failures, settings.dukcapil.batch) == (1, 1, 1)
    assert (settings.dtsen.max_rows, settings.dtsen.page_size) == (1, 1)
    assert load_settings({**env, "SIJOSKU_DTSEN_PAGE_SIZE": "1000000"}).dtsen.page_size == 100_000
    assert load_settings({**env, "SIJOSKU_DTSEN_PAGE_SIZE": "100000"}).dtsen.page_size == 100_000


def test_a_service_set_to_zero_attempts_is_still_called_once(env):
    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"ok": True})

    settings = load_settings({**env, "SIJOSKU_DUKCAPIL_URL": "https://nik.test", "SIJOSKU_DUKCAPIL_RETRIES": "0"})
    client = ServiceClient(settings.dukcapil, "Dukcapil", httpx.MockTransport(answer), lambda s: None)
    assert client.call("GET", "/cek", lambda a: json.loads(a.content)["ok"]) is True and calls == ["/cek"]


def test_a_key_file_written_by_hand_with_a_line_end_signs_with_the_key_alone(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 64 + "\n")
    assert load_settings({"SIJOSKU_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": ""}).secret_key == "k" * 64


# --- calls to another system -----------------------------------------------------------------------------


def _service(answer, **settings) -> tuple[ServiceClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    config = ServiceSettings(**{"base_url": "https://layanan.test", "retries": 3, "backoff": 0.0, **settings})
    return ServiceClient(config, "Layanan", httpx.MockTransport(handler), lambda s: None), seen


def _ok(answer: httpx.Response) -> object:
    return json.loads(answer.content)["ok"]


@pytest.mark.parametrize("status", [204, 302])
def test_an_answer_other_than_200_is_a_refusal_never_read_as_data(status):
    """A proxy sending its sign-in page (302), or an empty 204: said at once, not taken as the registry's word."""
    client, seen = _service(lambda r: httpx.Response(status, json={"ok": "bukan jawaban"}))
    with pytest.raises(ServiceUnavailable, match=f"Layanan menolak permintaan: HTTP {status}"):
        client.call("GET", "/cek", _ok)
    assert len(seen) == 1


def test_credentials_are_sent_only_when_a_user_is_set():
    client, seen = _service(lambda r: httpx.Response(200, json={"ok": 1}))
    client.call("GET", "/cek", _ok)
    client, seen_with_user = _service(lambda r: httpx.Response(200, json={"ok": 1}), user="sijosku", password="r")
    client.call("GET", "/cek", _ok)
    assert "authorization" not in seen[0].headers
    assert seen_with_user[0].headers["authorization"] == "Basic " + base64.b64encode(b"sijosku:r").decode()


def test_a_garbled_compressed_answer_is_tried_again_and_then_the_service_is_unavailable():
    client, seen = _service(lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"bukan gzip"))
    with pytest.raises(ServiceUnavailable, match="tidak menjawab setelah 3 percobaan: DecodingError"):
        client.call("GET", "/cek", _ok)
    assert len(seen) == 3


@pytest.mark.parametrize("broken", [b'{"lain": 1}', b"[" * 100_000 + b"]" * 100_000], ids=["missing", "deep"])
def test_an_answer_without_what_is_read_or_nested_past_reading_is_a_failed_attempt(broken):
    client, seen = _service(lambda r: httpx.Response(200, content=broken), retries=2)
    with pytest.raises(ServiceUnavailable, match="jawaban Layanan tidak terbaca"):
        client.call("GET", "/cek", _ok)
    assert len(seen) == 2


def test_an_answer_of_exactly_the_largest_size_is_read_and_one_byte_more_is_refused(monkeypatch):
    monkeypatch.setattr(resilience, "MAX_ANSWER_BYTES", 1024)
    exact = b'{"ok": "' + b"x" * (1024 - 10) + b'"}'
    assert len(_service(lambda r: httpx.Response(200, content=exact))[0].call("GET", "/cek", _ok)) == 1014
    client, seen = _service(lambda r: httpx.Response(200, content=exact + b" "))
    with pytest.raises(ServiceUnavailable, match="melebihi"):
        client.call("GET", "/cek", _ok)
    assert len(seen) == 1  # too large is not worth asking again


def test_a_full_dtsen_page_of_ten_thousand_rows_is_not_too_large_to_read():
    """About 7 MB: well within what one answer may hold."""
    page = b'{"ok": "' + b"x" * (8 * 2**20) + b'"}'
    client, _ = _service(lambda r: httpx.Response(200, content=page))
    assert len(client.call("GET", "/ekstrak", _ok)) == 8 * 2**20


def test_a_lapsed_trials_late_failure_does_not_reopen_a_breaker_a_later_trial_closed():
    _, breaker, lapsed = _a_lapsed_trial()
    breaker.succeeded(breaker.before_call())  # the service is back
    breaker.failed(lapsed)  # the first trial's timeout comes at last
    assert (breaker.state, breaker.failures) == (BreakerState.TERTUTUP, 0)
    assert breaker.before_call() is None


# --- races at the database -------------------------------------------------------------------------------


def test_a_lost_race_is_tried_again_after_a_pause_that_grows_with_each_try_and_none_after_the_last(monkeypatch):
    """Two requests that collided do not collide again at once: each waits a while, longer each time."""
    pauses: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", pauses.append)
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)

    def losing() -> None:
        raise _lost("40P01")

    with pytest.raises(Conflict):
        retry.retrying(losing)
    assert pauses == pytest.approx([0.05, 0.10, 0.15])


# --- rows written as a change commits --------------------------------------------------------------------


def test_a_changes_events_are_queued_no_later_than_the_trail_head_is_taken(db, statements):
    """The trail head is the last lock a change takes, after its events (no deadlock through it)."""
    with db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", PERIOD)
        events.publish(s, events.CycleOpened(periode=PERIOD, region_kode=KABUPATEN))
    queued = next(i for i, sql in enumerate(statements) if "INSERT INTO outbox_event" in sql)
    head = next(i for i, sql in enumerate(statements) if "audit_head" in sql)
    assert queued <= head


def test_a_savepoint_that_drops_all_of_one_kind_of_row_leaves_the_other_kind_to_be_written(db):
    """Its events refused with it, the change's trail row stands; its trail row refused, the events go."""
    with db.transaction() as s:
        audit.record(s, SYSTEM, AuditAction.CYCLE_OPENED, "use_case", "tetap")
        with pytest.raises(RuntimeError), s.begin_nested():
            events.publish(s, events.CycleOpened(periode=PERIOD, region_kode=KABUPATEN))
            raise RuntimeError("subscriber gagal")
    with db.transaction() as s:
        events.publish(s, events.CycleOpened(periode=PERIOD, region_kode=PROVINSI))
        with pytest.raises(RuntimeError), s.begin_nested():
            audit.record(s, SYSTEM, AuditAction.CYCLE_CLOSED, "use_case", "ditolak")
            raise RuntimeError("subscriber gagal")
    with db.read() as s:
        trail = s.scalars(select(AuditEvent.subject_id).where(AuditEvent.subject_type == "use_case")).all()
        queued = s.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "cycle.opened")).all()
        assert audit.verify_chain(s).ok
    assert trail == ["tetap"] and [p["region_kode"] for p in queued] == [PROVINSI]
