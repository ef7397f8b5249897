"""How fast a dead-letter backlog drains once central is back (`ektp bench dlq`).

On a running system (`ektp up`): strike central `down`, record `count` residents (they all wait in the
dead-letter stream), clear the outage, and time until none waits any more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from events.common import WIB
from pipeline.central.admin import call_outage_admin
from pipeline.config import Settings
from pipeline.deadletter.view import DeadLetterView
from pipeline.desk.enroll import send_submissions
from pipeline.errors import EktpError
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.proving.synthetic import generate_submissions


@dataclass(frozen=True)
class DrainBench:
    count: int
    fill_seconds: float
    drain_seconds: float

    @property
    def drain_per_second(self) -> float:
        return self.count / self.drain_seconds if self.drain_seconds else 0.0


async def bench_dlq(
    settings: Settings, count: int, *, say: Callable[[str], None] = print, timeout: float | None = None
) -> DrainBench:
    """Fill the dead-letter stream with `count` requests while central is down, then time its drain.

    Each of the two waits gives up after `timeout` seconds (EktpError); None waits as long as it takes.
    """
    view = DeadLetterView(settings, ADMIN_ROLE)  # a measurement
    await view.start()
    try:
        await view.caught_up()
        if view.pending():
            raise EktpError(f"{len(view.pending())} records already wait; drain them first (`ektp dlq replay`)")
        await call_outage_admin(settings, "POST", {"mode": "down"})
        began = time.monotonic()
        submissions = generate_submissions(count, seed=secrets.randbelow(2**31), today=dt.datetime.now(WIB).date())
        await send_submissions(settings, submissions)
        ids = {s.request_id for s in submissions if s.request_id}
        await _until(lambda: ids <= {e.request_id for e in view.pending()}, say,
                     lambda: f"{len(view.pending())} waiting", timeout)
        filled = time.monotonic() - began
        say(f"{count} requests wait in the dead-letter stream after {filled:.1f}s; clearing the outage")
        await call_outage_admin(settings, "POST", {"mode": "clear"})
        began = time.monotonic()
        await _until(lambda: not ids & {e.request_id for e in view.pending()}, say,
                     lambda: f"{len(ids & {e.request_id for e in view.pending()})} still waiting", timeout)
        drained = time.monotonic() - began
    finally:
        await view.stop()
    return DrainBench(count=count, fill_seconds=filled, drain_seconds=drained)


async def _until(
    fact: Callable[[], bool], say: Callable[[str], None], progress: Callable[[], str], timeout: float | None
) -> None:
    last = began = time.monotonic()
    while not fact():
        if timeout is not None and time.monotonic() - began > timeout:
            raise EktpError(f"the dead-letter backlog did not get there within {timeout:.0f}s: {progress()}")
        if time.monotonic() - last > 5:
            say(f"  {progress()}")
            last = time.monotonic()
        await asyncio.sleep(0.1)
