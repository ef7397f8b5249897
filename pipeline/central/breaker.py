"""A circuit breaker for the link to central: closed, open, half-open.

Closed: calls go through; `failure_threshold` transient failures in a row open it. Open: every call
fails at once (no waiting on timeouts while the link is down) until `cooldown` has passed. Half-open: one
probe goes through; its success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerChange:
    """A change of state, for metrics, logs and the dashboard's history."""

    state: BreakerState
    at: float
    reason: str


@dataclass
class CircuitBreaker:
    """The breaker's state; `clock` is injectable so that tests need not wait."""

    failure_threshold: int = 5
    cooldown: float = 10.0
    clock: Callable[[], float] = time.monotonic
    on_change: Callable[[BreakerChange], None] | None = None
    state: BreakerState = BreakerState.CLOSED
    since: float = field(default=0.0)
    consecutive_failures: int = 0
    _probe_in_flight: bool = False

    def __post_init__(self) -> None:
        self.since = self.clock()

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now)."""
        if self.state != BreakerState.OPEN:
            return 0.0
        return max(0.0, self.since + self.cooldown - self.clock())

    def allow(self) -> bool:
        """May a call go through now? In half-open, only one probe at a time."""
        if self.state == BreakerState.OPEN and self.retry_in() == 0.0:
            self._move(BreakerState.HALF_OPEN, "cool-down over: probing")
        if self.state == BreakerState.CLOSED:
            return True
        if self.state == BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        """Central answered (any answer that is not a transient failure)."""
        self.consecutive_failures = 0
        self._probe_in_flight = False
        if self.state != BreakerState.CLOSED:
            self._move(BreakerState.CLOSED, "central answered")

    def record_failure(self, reason: str) -> None:
        """A transient failure (refused, timeout, 5xx, 429)."""
        self.consecutive_failures += 1
        self._probe_in_flight = False
        if self.state == BreakerState.HALF_OPEN:
            self._move(BreakerState.OPEN, f"probe failed: {reason}")
        elif self.state == BreakerState.CLOSED and self.consecutive_failures >= self.failure_threshold:
            self._move(BreakerState.OPEN, f"{self.consecutive_failures} failures in a row, last: {reason}")

    def release_probe(self) -> None:
        """A probe ended without telling success or failure (cancelled): let another one try."""
        self._probe_in_flight = False

    def _move(self, state: BreakerState, reason: str) -> None:
        self.state = state
        self.since = self.clock()
        if self.on_change is not None:
            self.on_change(BreakerChange(state, self.since, reason))
