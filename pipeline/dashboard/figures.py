"""The dashboard's arithmetic: rates over a window, consumer lag, run-out forecasts, the central link's history.

Plain functions and small classes fed with numbers and timestamps, so the unit tests check them without a
broker; `pipeline.dashboard.collect` feeds them from Kafka, central and the worker.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.topology import topics

# (topic, partition): the key of every offset below.
Partition = tuple[str, int]

# The step of the workflow each topic belongs to, for the flow drawn on the page; the rest (the status
# topics and the unreadable stream) is `status`.
STEP_OF_TOPIC: Mapping[str, str] = {
    spec.name: step
    for step, specs in (
        ("intake", (topics.DESK_OUTBOX, topics.ENROLLMENT_SUBMITTED, topics.ENROLLMENT_REJECTED,
                    topics.ENROLLMENT_RECORDED, topics.CITIZEN_INBOX)),
        ("approval", (topics.APPROVAL_DECIDED, topics.APPROVAL_DEADLETTER, topics.APPROVAL_PARKED)),
        ("print", (topics.PRINT_REQUESTED, topics.PRINT_COMPLETED, topics.STATION_INVENTORY)),
        ("pickup", (topics.PICKUP_READY, topics.PICKUP_REQUESTED, topics.PICKUP_COLLECTED)),
    )
    for spec in specs
}


def step_of_topic(topic: str) -> str:
    """The step a topic belongs to; the status topics and anything unknown are `status`."""
    return STEP_OF_TOPIC.get(topic, "status")


class RateMeter:
    """Per-second rate of a growing count (an end offset) over the last `window` seconds of samples."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, count: int) -> None:
        """Record `count` seen at monotonic time `at`; samples older than the window are dropped."""
        self._samples.append((at, count))
        while len(self._samples) > 2 and at - self._samples[1][0] >= self.window:
            self._samples.popleft()

    def rate(self) -> float:
        """(newest - oldest) / elapsed over the window; 0 with fewer than two samples or a count that fell."""
        if len(self._samples) < 2:
            return 0.0
        (first_at, first), (last_at, last) = self._samples[0], self._samples[-1]
        if last_at <= first_at or last < first:
            return 0.0
        return (last - first) / (last_at - first_at)


@dataclass(frozen=True)
class LagRow:
    """How far one consumer group is behind on one partition."""

    group: str
    topic: str
    partition: int
    committed: int
    end_offset: int

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - self.committed)


def lag_rows(committed: Mapping[str, Mapping[Partition, int]], ends: Mapping[Partition, int]) -> list[LagRow]:
    """Lag per group and partition: end offset minus committed offset (a group with no commit yet: from 0)."""
    rows = [
        LagRow(group, topic, partition, max(offset, 0), ends.get((topic, partition), 0))
        for group, offsets in committed.items()
        for (topic, partition), offset in offsets.items()
    ]
    return sorted(rows, key=lambda row: (row.group, row.topic, row.partition))


def lag_by_topic(rows: Iterable[LagRow]) -> dict[str, int]:
    """The lag of every group on a topic, summed over partitions."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.topic] = totals.get(row.topic, 0) + row.lag
    return totals


def end_offsets_by_topic(ends: Mapping[Partition, int]) -> dict[str, int]:
    """Messages ever written to each topic: end offsets summed over its partitions."""
    totals: dict[str, int] = {}
    for (topic, _partition), end in ends.items():
        totals[topic] = totals.get(topic, 0) + end
    return totals


@dataclass(frozen=True)
class Forecast:
    """When a station runs out of blanks at its current print rate."""

    seconds: float
    at: dt.datetime


def run_out_forecast(blank_stock: int, prints_per_second: float, now: dt.datetime) -> Forecast | None:
    """Stock divided by the print rate; None when nothing prints (the stock lasts as long as it is idle)."""
    if blank_stock <= 0:
        return Forecast(0.0, now)
    if prints_per_second <= 0:
        return None
    seconds = blank_stock / prints_per_second
    return Forecast(seconds, now + dt.timedelta(seconds=seconds))


def prints_per_second(prints: Iterable[tuple[dt.datetime, int]], now: dt.datetime, window: float) -> float:
    """The cards of `prints` ((when, cards) of each stock event) printed in the last `window` seconds, per second."""
    start = now - dt.timedelta(seconds=window)
    return sum(cards for at, cards in prints if start < at <= now) / window


# `ektp_central_breaker_state{state="open"} 1.0` in the worker's Prometheus text.
_BREAKER_LINE = re.compile(r'^ektp_central_breaker_state\{[^}]*state="([a-z_]+)"[^}]*\}\s+([0-9.eE+-]+)', re.M)


def breaker_from_metrics(text: str) -> str | None:
    """The breaker state whose gauge is 1 in the worker's /metrics; None when none is."""
    for state, value in _BREAKER_LINE.findall(text):
        if float(value) >= 1:
            return str(state)
    return None


@dataclass(frozen=True)
class LinkChange:
    """The central link as seen at one moment it changed."""

    state: str
    breaker: str | None
    at: dt.datetime


class LinkHistory:
    """The central link's state now, since when, and its recent changes (newest first)."""

    def __init__(self, keep: int = 20) -> None:
        self.changes: deque[LinkChange] = deque(maxlen=keep)
        self.since: dt.datetime | None = None

    def observe(self, state: str, breaker: str | None, now: dt.datetime) -> None:
        """Note what a probe saw; only a change of state or breaker is kept."""
        last = self.changes[0] if self.changes else None
        if last is not None and (last.state, last.breaker) == (state, breaker):
            return
        if last is None or last.state != state:
            self.since = now
        self.changes.appendleft(LinkChange(state, breaker, now))

    @property
    def state(self) -> str:
        return self.changes[0].state if self.changes else "unknown"

    @property
    def breaker(self) -> str | None:
        return self.changes[0].breaker if self.changes else None
