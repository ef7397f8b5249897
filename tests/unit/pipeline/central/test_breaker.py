"""The circuit breaker: closed, open after repeated failures, half-open after its cool-down, closed again."""

from __future__ import annotations

from pipeline.central.breaker import BreakerChange, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(cb: CircuitBreaker) -> BreakerState:
    """The state, read through a call so the type checker does not pin it between steps."""
    return cb.state


def breaker(clock: Clock, changes: list[BreakerChange] | None = None) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown=10.0, clock=clock,
                          on_change=changes.append if changes is not None else None)


def test_the_breaker_opens_after_the_threshold_of_failures_in_a_row() -> None:
    """Three failures in a row open it; a success in between starts the count again."""
    clock = Clock()
    cb = breaker(clock)
    cb.record_failure("refused")
    cb.record_failure("refused")
    cb.record_success()
    cb.record_failure("timeout")
    cb.record_failure("timeout")
    assert state(cb) == BreakerState.CLOSED
    cb.record_failure("timeout")
    assert state(cb) == BreakerState.OPEN
    assert not cb.allow()
    assert cb.retry_in() == 10.0


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes() -> None:
    """Half-open lets exactly one probe through; the probe's success closes the breaker."""
    clock, changes = Clock(), list[BreakerChange]()
    cb = breaker(clock, changes)
    for _ in range(3):
        cb.record_failure("refused")
    clock.now += 9.9
    assert not cb.allow()
    clock.now += 0.1
    assert cb.allow()
    assert state(cb) == BreakerState.HALF_OPEN
    assert not cb.allow(), "a second caller waits while the probe is out"
    cb.record_success()
    assert state(cb) == BreakerState.CLOSED
    assert cb.allow()
    assert [change.state for change in changes] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_probe_opens_the_breaker_for_another_cool_down() -> None:
    """The probe fails: open again, and the cool-down counts from that failure."""
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure("refused")
    clock.now += 10
    assert cb.allow()
    cb.record_failure("refused")
    assert state(cb) == BreakerState.OPEN
    assert cb.retry_in() == 10.0


def test_a_cancelled_probe_lets_the_next_caller_probe() -> None:
    """A probe that ends without an answer frees the half-open slot."""
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record_failure("refused")
    clock.now += 10
    assert cb.allow()
    cb.release_probe()
    assert cb.allow()
