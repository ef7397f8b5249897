"""The token bucket in front of enrollments, on a clock moved by hand."""

from __future__ import annotations

from central_sim.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_grants_the_burst_then_refuses() -> None:
    """After a pause, `burst` calls pass at once and the next is refused."""
    bucket = TokenBucket(rate=10, burst=3, clock=FakeClock())
    assert [bucket.take() for _ in range(4)] == [1, 1, 1, 0]


def test_tokens_come_back_at_the_rate() -> None:
    """An empty bucket grants one call per 1/rate seconds, never more than the burst."""
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    bucket.take(3)
    clock.now += 0.1
    assert bucket.take() == 1
    assert bucket.take() == 0
    clock.now += 3600
    assert bucket.take(10) == 3


def test_a_batch_gets_as_many_tokens_as_there_are() -> None:
    """A batch larger than the tokens left is granted only those tokens; each item counts."""
    bucket = TokenBucket(rate=1, burst=5, clock=FakeClock())
    assert bucket.take(3) == 3
    assert bucket.take(3) == 2
    assert bucket.take(3) == 0


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    """Retry-After rounds the wait for one token up to whole seconds, never below 1."""
    clock = FakeClock()
    fast = TokenBucket(rate=100, burst=1, clock=clock)
    fast.take()
    assert fast.retry_after() == 1
    slow = TokenBucket(rate=0.25, burst=1, clock=clock)
    slow.take()
    assert slow.retry_after() == 4
    clock.now += 1
    assert slow.retry_after() == 3


def test_rate_zero_means_no_limit() -> None:
    """A rate of 0 turns the limit off."""
    bucket = TokenBucket(rate=0, burst=1, clock=FakeClock())
    assert sum(bucket.take() for _ in range(10_000)) == 10_000
