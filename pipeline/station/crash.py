"""A crash-injection hook, for tests only: SIGKILL the station at a named point of its work.

`EKTP_STATION_CRASH_AT=<point>:<n>` (or `ektp station run --crash-at <point>:<n>`, a hidden option) kills
the process with SIGKILL at the n-th time it passes `point`. The recovery tests use it to prove that a
station killed at any instant prints every request exactly once after a restart. Never set it in service.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pipeline.station.errors import StationError


class CrashPoint(StrEnum):
    """Where the station can be killed on purpose, in the order a job passes them.

    A point passed once per batch counts batches (after_commit, mid_reserve, mid_record, after_record);
    every other point counts jobs, in the order of the batch (`mid_render:2`: the second card's render).
    """

    AFTER_COMMIT = "after_commit"  # the Kafka offset is committed, the journal does not know yet
    AFTER_VERIFY = "after_verify"  # the batch's approvals verified and journaled (passed once per job)
    MID_RESERVE = "mid_reserve"  # the batch's blank reservations half written, not committed
    AFTER_RESERVE = "after_reserve"  # the batch's blanks reserved, card serials assigned, nothing printed
    MID_RENDER = "mid_render"  # a card's PNG half written, as a temp file
    AFTER_PNG = "after_png"  # a card's PNG in place, the journal still says `printing`
    MID_RECORD = "mid_record"  # the batch's printed cards half recorded, not committed
    AFTER_RECORD = "after_record"  # the batch's cards recorded `printed`, print.completed not sent yet
    AFTER_REPORT = "after_report"  # print.completed acknowledged, the journal still says `printed`


def sigkill_self() -> None:
    """The crash itself: no cleanup, no flush, no finally."""
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class CrashHook:
    """Kills the process at the n-th passage of one point; passes every other point."""

    point: CrashPoint | None = None
    nth: int = 1
    crash: Callable[[], None] = sigkill_self
    _passed: dict[CrashPoint, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str | None) -> CrashHook:
        """`after_png:2` -> a hook that kills at the second PNG; None or "" -> a hook that never kills."""
        if not spec:
            return cls()
        name, _, count = spec.partition(":")
        try:
            return cls(CrashPoint(name.strip()), int(count or "1"))
        except ValueError as error:
            points = ", ".join(point.value for point in CrashPoint)
            raise StationError(f"crash hook {spec!r}: expected <point>:<n>, point one of {points}") from error

    def reached(self, point: CrashPoint) -> None:
        """Note that the station passed `point`; crash if this is the configured passage."""
        if point != self.point:
            return
        self._passed[point] = self._passed.get(point, 0) + 1
        if self._passed[point] == self.nth:
            self.crash()
