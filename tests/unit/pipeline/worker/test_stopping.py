"""A batching agent ends on stop by itself: it does not hang on a cancellation that never arrives."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust

from pipeline.worker.faust_fixes import end_batches_when_stopping


async def test_a_batching_agent_ends_when_it_stops_without_being_cancelled() -> None:
    app = faust.App("ektp-stopping-test", broker="kafka://127.0.0.1:1", autodiscover=False, web_enabled=False,
                    loop=asyncio.get_running_loop())
    stream: Any = app.stream(app.channel())

    async def batching_agent() -> None:  # the shape of the status tracker and of approval
        async for _events in stream.take_events(10, within=0.05):
            pass

    task = asyncio.create_task(batching_agent())
    calls: list[str] = []

    async def faust_on_stop() -> None:  # faust's own: it cancels the task, once, then waits for it
        calls.append("faust's on_stop")

    agent = SimpleNamespace(on_stop=faust_on_stop, _actors=[SimpleNamespace(stream=stream)])
    end_batches_when_stopping(agent)
    await asyncio.wait_for(stream._passive_started.wait(), timeout=5)  # take_events is reading the stream
    assert not task.done()  # nothing to read: it waits in take_events, as the tracker of a stopping worker does

    await agent.on_stop()

    await asyncio.wait_for(task, timeout=5)  # ended by itself, with no cancellation
    assert not task.cancelled()
    assert calls == ["faust's on_stop"]
    consumer: Any = app.consumer  # reading the stream made a consumer, whose thread's loop never ran
    consumer._thread.thread_loop.close()
