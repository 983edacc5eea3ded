"""Calling a service that may be slow or down: retries with exponential backoff, and a circuit
breaker that stops calling for a while after repeated failures.

The breaker, as documented in docs/api.md:
- closed (`tertutup`): calls go through; each call that fails after all its retries counts one
  failure, a success resets the count;
- after `failures_to_open` failures in a row it opens (`terbuka`): calls fail at once, without
  touching the network, for `reset_after` seconds;
- then it is half-open (`setengah_terbuka`): one trial call goes through; success closes it,
  failure opens it again for another `reset_after`.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from engine.core.config import ServiceSettings

T = TypeVar("T")
# One answer's body: a Dukcapil batch is a few hundred KB and a DTSEN page of 10,000 rows about 7 MB.
MAX_ANSWER_BYTES = 32 * 2**20
ENCODING_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class BreakerState(enum.StrEnum):
    TERTUTUP = "tertutup"
    TERBUKA = "terbuka"
    SETENGAH_TERBUKA = "setengah_terbuka"


class CircuitOpen(Exception):
    """The breaker is open: the call was not made."""


class Transient(Exception):
    """A failure worth retrying: a timeout (a body still arriving past it too), a dropped connection, a 5xx
    or 429 answer, a body that cannot be decompressed or read."""


@dataclass
class CircuitBreaker:
    failures_to_open: int = 5
    reset_after: float = 60.0
    monotonic: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.TERTUTUP
    failures: int = 0
    opened_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    trial: int = 0  # the number of the latest trial call; an answer of an earlier one that lapsed counts for nothing

    def before_call(self) -> int | None:
        """Closed: every call goes. Open: none, until `reset_after`; then one trial call goes, and
        the others are refused until it answers (a trial that never answered lapses after `reset_after`).
        Returns the trial's number, or None for a call of the closed breaker."""
        with self._lock:
            if self.state == BreakerState.TERTUTUP:
                return None
            if self.monotonic() - self.opened_at < self.reset_after:
                raise CircuitOpen("pemutus sirkuit terbuka")
            self.state, self.opened_at, self.trial = BreakerState.SETENGAH_TERBUKA, self.monotonic(), self.trial + 1
            return self.trial

    def succeeded(self, trial: int | None = None) -> None:
        with self._lock:
            if self._lapsed(trial):
                return
            self.state, self.failures = BreakerState.TERTUTUP, 0

    def failed(self, trial: int | None = None) -> None:
        with self._lock:
            if self._lapsed(trial):
                return
            self.failures += 1
            if self.state == BreakerState.SETENGAH_TERBUKA or self.failures >= self.failures_to_open:
                self.state, self.opened_at = BreakerState.TERBUKA, self.monotonic()

    def _lapsed(self, trial: int | None) -> bool:
        """A trial that a later one replaced: what the later one found stands."""
        return trial is not None and trial != self.trial

    def call(self, fn: Callable[[], T]) -> T:
        trial = self.before_call()
        try:
            result = fn()
        except Exception:
            self.failed(trial)
            raise
        self.succeeded(trial)
        return result


def with_retries(fn: Callable[[], T], attempts: int, backoff: float, sleep: Callable[[float], None] = time.sleep) -> T:
    """`fn`, tried up to `attempts` times while it raises `Transient`, waiting backoff, 2×backoff, ..."""
    for attempt in range(attempts):
        try:
            return fn()
        except Transient:
            if attempt == attempts - 1:
                raise
            sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")  # attempts >= 1


class ServiceUnavailable(Exception):
    """Another system gave no usable answer after the retries, or its circuit breaker is open."""


class ServiceBreakerOpen(ServiceUnavailable):
    """The circuit breaker is open: no call was made."""


class ServiceClient:
    """The shape every HTTP adapter to another system shares (Dukcapil, DTSEN): a base URL, HTTP basic
    credentials, a timeout per call, retries with backoff for what is worth retrying (refused, dropped,
    timed out, 5xx, 429), and one circuit breaker for the client's life."""

    def __init__(self, settings: ServiceSettings, name: str, transport: Any = None, sleep: Any = None) -> None:
        self.settings, self.name = settings, name
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset)
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=settings.base_url,
            auth=(settings.user, settings.password) if settings.user else None,
            timeout=settings.timeout,
            transport=transport,
        )

    def _once(self, method: str, path: str, read: Callable[[httpx.Response], T], **kw: Any) -> T:
        try:
            with self._client.stream(method, path, **kw) as streamed:
                if streamed.status_code >= 500 or streamed.status_code == 429:
                    raise Transient(f"HTTP {streamed.status_code}")
                if streamed.status_code != 200:
                    raise ServiceUnavailable(f"{self.name} menolak permintaan: HTTP {streamed.status_code}")
                body = self._body(streamed, time.monotonic() + self.settings.timeout)
        except (httpx.TransportError, httpx.DecodingError) as exc:  # refused, dropped, timed out, garbled
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        # the body as read is already decoded (gzip): its headers must not have it decoded again
        plain = [(k, v) for k, v in streamed.headers.items() if k.lower() not in ENCODING_HEADERS]
        answer = httpx.Response(200, headers=plain, content=body, request=streamed.request)
        try:
            return read(answer)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # nested past the stack too
            raise Transient(f"jawaban {self.name} tidak terbaca: {exc}") from exc

    def _body(self, streamed: httpx.Response, deadline: float) -> bytes:
        """The answer's body within the call's time and size: httpx's timeout bounds each read, so a
        server sending a byte a second would hold a run for as long as it liked, and a body of any
        size would be held in memory whole."""
        chunks, size = [], 0
        for chunk in streamed.iter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise ServiceUnavailable(f"jawaban {self.name} melebihi {MAX_ANSWER_BYTES // 2**20} MB")
            if time.monotonic() > deadline:
                raise Transient(f"jawaban {self.name} belum selesai setelah {self.settings.timeout:g} detik")
            chunks.append(chunk)
        return b"".join(chunks)

    def call(self, method: str, path: str, read: Callable[[httpx.Response], T], **kw: Any) -> T:
        """`read(answer)` of one request, through the breaker and the retries."""
        retries = self.settings.retries
        extra = {"sleep": self._sleep} if self._sleep else {}
        try:
            return self.breaker.call(
                lambda: with_retries(
                    lambda: self._once(method, path, read, **kw), retries, self.settings.backoff, **extra
                )
            )
        except CircuitOpen as exc:
            raise ServiceBreakerOpen(f"pemutus sirkuit terbuka: {self.name} sedang tidak dihubungi") from exc
        except Transient as exc:
            raise ServiceUnavailable(f"{self.name} tidak menjawab setelah {retries} percobaan: {exc}") from exc

    def close(self) -> None:
        self._client.close()
