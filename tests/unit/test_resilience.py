"""Retries with backoff and the circuit breaker, on a clock the test moves."""

from __future__ import annotations

import pytest

from engine.core.resilience import BreakerState, CircuitBreaker, CircuitOpen, Transient, with_retries


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _fail() -> None:
    raise RuntimeError("down")


def test_the_breaker_opens_fails_fast_half_opens_and_closes():
    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=3, reset_after=60, monotonic=clock)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            breaker.call(_fail)
    assert breaker.state == BreakerState.TERTUTUP
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    assert breaker.state == BreakerState.TERBUKA
    calls = []
    clock.now = 59.9
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: calls.append(1))
    assert calls == []  # an open breaker makes no call at all
    clock.now = 60.0
    assert breaker.call(lambda: "ok") == "ok"  # the half-open trial succeeds: closed again
    assert (breaker.state, breaker.failures) == (BreakerState.TERTUTUP, 0)


def test_a_failed_trial_opens_the_breaker_again_for_another_period():
    clock = Clock()
    breaker = CircuitBreaker(failures_to_open=1, reset_after=10, monotonic=clock)
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    clock.now = 10
    with pytest.raises(RuntimeError):
        breaker.call(_fail)  # the trial call
    assert breaker.state == BreakerState.TERBUKA and breaker.opened_at == 10
    clock.now = 19
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: None)


def test_a_success_resets_the_count_of_failures():
    breaker = CircuitBreaker(failures_to_open=2, reset_after=10, monotonic=Clock())
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    breaker.call(lambda: None)
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    assert breaker.state == BreakerState.TERTUTUP


def test_retries_back_off_exponentially_and_give_up():
    waits, tries = [], []

    def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise Transient("500")
        return "ok"

    assert with_retries(flaky, attempts=3, backoff=0.5, sleep=waits.append) == "ok"
    assert waits == [0.5, 1.0]
    with pytest.raises(Transient):
        with_retries(lambda: (_ for _ in ()).throw(Transient("x")), attempts=2, backoff=1, sleep=waits.append)
