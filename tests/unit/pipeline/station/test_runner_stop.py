"""The station's stop: its loops end on the first cancellation, and a task that loses one is cancelled again.

The outbox sender waits on an event every printed card sets. Python 3.11's `asyncio.wait_for` returns instead
of raising a cancellation that arrives just as that event is set, so a sender waiting with it loses the
cancellation and runs on, and the station's stop waits for it until SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import pytest

from pipeline.station.runner import cancel_until_done, wait_at_most

Wait = Callable[[asyncio.Event], Awaitable[None]]


async def with_wait_for(event: asyncio.Event) -> None:
    """The sender's wait written with `asyncio.wait_for`, which can lose a cancellation (Python 3.11)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), 10.0)


async def with_wait_at_most(event: asyncio.Event) -> None:
    await wait_at_most(event, 10.0)


async def cancelled_as_its_event_is_set(wait: Wait) -> asyncio.Task[None]:
    """A sender-like loop, cancelled at the moment a printed card sets its event; the task, 0.5 s later."""
    event = asyncio.Event()

    async def sender() -> None:
        while True:
            event.clear()
            await wait(event)

    task = asyncio.create_task(sender())
    await asyncio.sleep(0.01)  # it waits on the event
    event.set()
    task.cancel()
    await asyncio.wait([task], timeout=0.5)
    return task


async def test_a_loop_that_waits_with_wait_at_most_ends_on_a_cancellation_that_comes_with_its_event() -> None:
    task = await cancelled_as_its_event_is_set(with_wait_at_most)
    assert task.cancelled()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 fixed wait_for's lost cancellation")
async def test_the_cause_wait_for_loses_a_cancellation_that_comes_with_its_event() -> None:
    task = await cancelled_as_its_event_is_set(with_wait_for)
    assert not task.done()  # the cancellation is lost: it runs on
    await cancel_until_done([task])
    assert task.cancelled()


async def test_cancel_until_done_cancels_again_a_task_that_swallowed_its_first_cancellation() -> None:
    cancellations = 0

    async def swallows_the_first() -> None:
        nonlocal cancellations
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancellations += 1  # lost, as wait_for can lose it
        await asyncio.sleep(10)

    stubborn = asyncio.create_task(swallows_the_first())
    plain = asyncio.create_task(asyncio.sleep(10))
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)

    await cancel_until_done([stubborn, plain, finished], every=0.05)

    assert stubborn.cancelled()
    assert plain.cancelled()
    assert cancellations == 1
    assert finished.done()
    assert not finished.cancelled()
