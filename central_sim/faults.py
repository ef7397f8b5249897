"""The lightning strike: outage windows of central's public port, as a state machine on a clock.

A window is a mode (`down`, `flaky`, `slow`, `hang`, or `normal` for a scheduled `clear`) from a start
to an optional end. The mode in force is the one of the window that started last, until it ends; then
central is `normal` again: a window that starts ends whatever was in force before it. An immediate
`clear` ends the mode in force and cancels every scheduled window.

No I/O and no asyncio: the server asks `in_force()` and `next_change_in()` and acts on the answers. The
clock is injected so tests can move time by hand.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Clock = Callable[[], float]


class OutageMode(StrEnum):
    """What the public port does."""

    NORMAL = "normal"  # answers as it should
    DOWN = "down"  # refuses connections: the listening socket is closed
    FLAKY = "flaky"  # answers a fraction `error_rate` of calls with 503
    SLOW = "slow"  # adds `latency_seconds` to every answer
    HANG = "hang"  # accepts connections and never answers (503 once the hang ends)


class OutageCommand(BaseModel):
    """The body of `POST /admin/outage`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["down", "flaky", "slow", "hang", "clear"]
    for_seconds: float | None = Field(None, gt=0, description="The mode ends by itself after this long")
    error_rate: float = Field(0.3, ge=0, le=1, description="`flaky`: the fraction of calls answered 503")
    latency_seconds: float = Field(2.0, ge=0, le=3600, description="`slow`: seconds added to every answer")
    start_in_seconds: float | None = Field(None, ge=0, description="Schedule the window this far ahead")


@dataclass(frozen=True)
class OutageWindow:
    """One mode over a stretch of the clock's time."""

    mode: OutageMode
    starts_at: float
    ends_at: float | None
    error_rate: float
    latency_seconds: float
    sequence: int  # orders windows that start at the same instant: the later command wins

    @property
    def order(self) -> tuple[float, int]:
        return (self.starts_at, self.sequence)


NORMAL = OutageWindow(OutageMode.NORMAL, float("-inf"), None, 0.0, 0.0, -1)


class FaultSchedule:
    """The outage windows in force and to come."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._windows: list[OutageWindow] = []
        self._sequence = itertools.count()

    def now(self) -> float:
        """The schedule's clock."""
        return self._clock()

    def command(self, command: OutageCommand) -> None:
        """Apply an operator's command: start a mode now, schedule a window, or clear."""
        now = self._clock()
        if command.mode == "clear" and command.start_in_seconds is None:
            self._windows = []
            return
        starts_at = now + (command.start_in_seconds or 0.0)
        ends_at = None if command.for_seconds is None else starts_at + command.for_seconds
        mode = OutageMode.NORMAL if command.mode == "clear" else OutageMode(command.mode)
        self._windows.append(
            OutageWindow(mode, starts_at, ends_at, command.error_rate, command.latency_seconds, next(self._sequence))
        )
        self._prune(now)

    def in_force(self) -> OutageWindow:
        """The window in force now; `NORMAL` when none is."""
        now = self._clock()
        self._prune(now)
        started = [window for window in self._windows if window.starts_at <= now]
        return started[-1] if started else NORMAL

    def scheduled(self) -> list[OutageWindow]:
        """Windows that have not started yet, soonest first."""
        now = self._clock()
        return [window for window in self._windows if window.starts_at > now]

    def next_change_in(self) -> float | None:
        """Seconds until the mode in force may change by itself; None when nothing is pending."""
        now = self._clock()
        moments = [window.starts_at for window in self._windows if window.starts_at > now]
        current = self.in_force()
        if current.ends_at is not None:
            moments.append(current.ends_at)
        return max(min(moments) - now, 0.0) if moments else None

    def _prune(self, now: float) -> None:
        """Keep the window in force (the one that started last, unless it ended) and those yet to start."""
        self._windows.sort(key=lambda window: window.order)
        started = [window for window in self._windows if window.starts_at <= now]
        pending = [window for window in self._windows if window.starts_at > now]
        if started and (started[-1].mode is OutageMode.NORMAL or _ended(started[-1], now)):
            started = []
        self._windows = started[-1:] + pending


def _ended(window: OutageWindow, now: float) -> bool:
    return window.ends_at is not None and now >= window.ends_at
