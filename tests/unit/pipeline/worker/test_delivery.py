"""The consumer delivers a message at once when nothing blocks it, and as faust does when something does."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import textwrap
from pathlib import Path
from typing import Any

import mode
import pytest
from faust.transport.consumer import Consumer

from pipeline.config import Settings
from pipeline.kafka.security import ensure_credentials
from pipeline.worker.app import create_app
from pipeline.worker.faust_fixes import deliver, drain_messages

# faust-streaming 0.15's `Consumer._drain_messages`, which `drain_messages` follows line for line but one.
FAUST_DRAIN_SHA256 = "8f35dd7a11144daa6ec9a3739a497b03a9dd6b57cca18aa861bb4a549400fc68"


class Recorder:
    """A consumer's `wait_first` and `suspend_flow`: faust's own `wait_first`, and what went through it."""

    def __init__(self) -> None:
        self.service = mode.Service()
        self.suspend_flow = asyncio.Event()
        self.waited: list[Any] = []

    async def wait_first(self, *coroutines: Any) -> Any:
        self.waited.append(coroutines)
        return await self.service.wait_first(*coroutines)


async def test_a_delivery_that_waits_for_nothing_is_done_at_once_without_wait_first() -> None:
    consumer = Recorder()
    delivered: list[str] = []

    async def callback(message: str) -> None:
        delivered.append(message)

    await deliver(consumer, callback("m1"))

    assert delivered == ["m1"]
    assert consumer.waited == []


async def test_a_delivery_that_waits_goes_on_under_wait_first_and_finishes() -> None:
    consumer = Recorder()
    room = asyncio.get_running_loop().create_future()
    delivered: list[str] = []

    async def callback(message: str) -> None:
        delivered.append(f"{message} begun")
        delivered.append(f"{message} got {await room}")

    delivering = asyncio.create_task(deliver(consumer, callback("m1")))
    await asyncio.sleep(0)
    assert delivered == ["m1 begun"]
    assert len(consumer.waited) == 1
    assert not delivering.done()

    room.set_result("room")
    await asyncio.wait_for(delivering, timeout=5)
    assert delivered == ["m1 begun", "m1 got room"]


async def test_a_waiting_delivery_is_abandoned_when_the_flow_is_suspended() -> None:
    consumer = Recorder()
    never = asyncio.get_running_loop().create_future()
    ended: list[str] = []

    async def callback() -> None:
        try:
            await never
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise

    delivering = asyncio.create_task(deliver(consumer, callback()))
    await asyncio.sleep(0)
    consumer.suspend_flow.set()  # a rebalance begins

    await asyncio.wait_for(delivering, timeout=5)
    await asyncio.sleep(0)  # wait_first cancels the loser as it returns
    assert ended == ["cancelled"]
    assert never.cancelled()


async def test_a_waiting_delivery_that_fails_raises_as_faust_s_would() -> None:
    consumer = Recorder()
    failing = asyncio.get_running_loop().create_future()

    async def callback() -> None:
        await failing

    delivering = asyncio.create_task(deliver(consumer, callback()))
    await asyncio.sleep(0)
    failing.set_exception(ValueError("undecodable"))

    with pytest.raises(ValueError, match="undecodable"):
        await asyncio.wait_for(delivering, timeout=5)


def test_the_loop_follows_faust_s_own() -> None:
    """A faust upgrade that changes its loop fails here: `drain_messages` must then be compared with it again."""
    source = textwrap.dedent(inspect.getsource(Consumer._drain_messages))
    assert hashlib.sha256(source.encode()).hexdigest() == FAUST_DRAIN_SHA256


def test_the_worker_s_consumer_drains_with_the_loop_that_delivers_at_once(tmp_path: Path) -> None:
    ensure_credentials(Settings(run_dir=tmp_path))  # the app is built with the worker's, never connects
    app = create_app(Settings(run_dir=tmp_path))
    consumer: Any = app.consumer
    try:
        assert consumer._drain_messages.__func__ is drain_messages
    finally:
        consumer._thread.thread_loop.close()  # made with the consumer, never run
