"""Central's rate limit on enrollments: a token bucket (rate per second, burst), on an injectable clock."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBucket:
    """`burst` tokens at most, refilled at `rate` per second; one enrollment takes one token.

    A rate of 0 means no limit.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self, wanted: int = 1) -> int:
        """Take up to `wanted` tokens; returns how many were granted (0 when the bucket is empty)."""
        if self._rate <= 0:
            return wanted
        self._refill()
        granted = min(wanted, math.floor(self._tokens))
        self._tokens -= granted
        return granted

    def retry_after(self) -> int:
        """Whole seconds (at least 1) until one token is back: the `Retry-After` header."""
        if self._rate <= 0:
            return 1
        self._refill()
        missing = max(1.0 - self._tokens, 0.0)
        return max(1, math.ceil(missing / self._rate))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
