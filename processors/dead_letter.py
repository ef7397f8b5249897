"""The rules of the dead-letter stream: which record may go to central, which waits, which is parked.

Order per citizen survives an outage (Confluent's pattern): while a citizen has a record waiting in the
dead-letter stream, their later records are diverted behind it, and only the first waiting record (the
head) may go to central. A record that keeps failing is parked after `max_attempts` tries: it leaves
the order (a person must look at it), so the citizen's later records are not held behind it for ever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar


class Route(StrEnum):
    ASK_CENTRAL = "ask_central"
    ALREADY_DECIDED = "already_decided"  # a replay or a redelivery: central has decided; nothing to do
    DIVERT = "divert"  # an earlier record of the citizen waits: this one waits behind it


def route_for(request_id: str, *, waiting: tuple[str, ...], decided: bool) -> Route:
    """Where a record of a citizen whose waiting records are `waiting` (oldest first) goes now."""
    if decided:
        return Route.ALREADY_DECIDED
    if waiting and waiting[0] != request_id:
        return Route.DIVERT
    return Route.ASK_CENTRAL


def waiting_after_decision(waiting: tuple[str, ...], request_id: str) -> tuple[str, ...]:
    """Central decided `request_id`: it waits no more."""
    return tuple(waiting_id for waiting_id in waiting if waiting_id != request_id)


def waiting_after_failure(waiting: tuple[str, ...], request_id: str) -> tuple[str, ...]:
    """`request_id` went to the dead-letter stream: it waits, in the order it first waited."""
    return waiting if request_id in waiting else (*waiting, request_id)


def should_park(attempts: int, max_attempts: int) -> bool:
    """A record tried `attempts` times is parked once that reaches `max_attempts`."""
    return attempts >= max_attempts


class Waiting(Protocol):
    """A record waiting in the dead-letter stream, as far as replaying it needs to know."""

    @property
    def request_id(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


W = TypeVar("W", bound=Waiting)


def due_for_replay(waiting: Iterable[W], *, owned: set[int], sent: Mapping[str, int]) -> list[W]:
    """The waiting records a worker replays now: those of the partitions it owns, not sent back since they
    last failed (`sent`: request_id -> the dead-letter offset already sent back).

    Each worker replays only its own partitions, so two workers never replay the same record; a record that
    failed again after its replay has a newer offset, and is due again.
    """
    return [record for record in waiting
            if record.partition in owned and sent.get(record.request_id, -1) < record.offset]


@dataclass(frozen=True)
class ReplayFilter:
    """Which waiting records a replay sends back: all, or those of a time window, error, kecamatan."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    reason: str | None = None
    kecamatan_code: str | None = None

    def matches(self, *, failed_at: dt.datetime, reason: str, kecamatan_code: str | None) -> bool:
        """True when a record that last failed at `failed_at` for `reason` is selected."""
        if self.since is not None and failed_at < self.since:
            return False
        if self.until is not None and failed_at > self.until:
            return False
        if self.reason is not None and reason != self.reason:
            return False
        return self.kecamatan_code is None or kecamatan_code == self.kecamatan_code
