"""The framework's ceiling: the same hops as `relay.py`, each a faust agent that does nothing but forward.

One faust worker process, configured as the pipeline's worker is (`pipeline.worker.app.create_app`: acks=all,
the same linger and batch size, commits after processing), with one agent per hop, concurrency 1, that
reads each event and sends its key and value on unchanged: no parsing, no state, no status, no logging.
What it reaches is what one faust worker can carry on this machine before any of the pipeline's own work,
so it splits the gap between the pipeline and the raw relay into faust's share and the pipeline's.

`python -m pipeline.proving.bench.faust_relay RUN HOPS` runs that worker on the broker of the environment's
settings (the bench's private system); `bench_faust_relay` starts it, relays, and stops it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import faust

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.backoff import back_off_failed_metadata_updates
from pipeline.logs import configure_logging
from pipeline.processes.event_loop import use_event_loop
from pipeline.proving.bench.relay import (
    PIPELINE_HOPS,
    RELAY_ROLE,
    RelayBench,
    count_arrivals,
    create_topics,
    delete_topics,
    send_all,
)
from pipeline.worker.app import create_app
from pipeline.worker.faust_fixes import end_batches_when_stopping
from pipeline.worker.run import DeadlineWorker

WARM_UP = 200  # payloads relayed before the clock starts: the group's assignment and first fetches
STOP_TIMEOUT = 30.0


def relay_topics(run: str, hops: int) -> list[str]:
    return [f"bench.faust-relay.{run}.{number}" for number in range(hops + 1)]


def build_relay_app(settings: Settings, run: str, hops: int) -> faust.App:
    """A faust app whose agents forward topic n to topic n+1, for n in 0..hops-1.

    It runs as the relay's role (`admin`): its topics and group are its own, and no program's role may use them.
    """
    app = create_app(settings, app_id=f"bench-faust-relay-{run}", role=RELAY_ROLE)
    topics = [app.topic(name, key_serializer="raw", value_serializer="raw", partitions=None)
              for name in relay_topics(run, hops)]
    for number in range(hops):
        _forward(app, topics[number], topics[number + 1], f"hop_{number}")
    return app


def _forward(app: faust.App, source: faust.TopicT, target: faust.TopicT, name: str) -> None:
    async def forward(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            await target.send(key=event.key, value=event.value)

    agent = app.agent(source, name=name, concurrency=1)(forward)
    end_batches_when_stopping(agent)


async def bench_faust_relay(
    settings: Settings, payloads: Sequence[tuple[bytes | None, bytes]], *, hops: int = PIPELINE_HOPS,
    timeout: float = 600.0,
) -> RelayBench:
    """Relay `payloads` through `hops` faust agents in one worker process; time from first send to last arrival."""
    run = uuid.uuid4().hex[:8]
    topics = relay_topics(run, hops)
    await create_topics(settings, topics)
    log_path = settings.run_dir / f"bench-faust-relay-{run}.log"
    environment = {**os.environ, **settings.as_environment()}
    with log_path.open("ab") as log:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipeline.proving.bench.faust_relay", run, str(hops),
            env=environment, stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
    try:
        warm = [(None, b"warm-up %d" % number) for number in range(WARM_UP)]
        if await _relay_through(settings, topics, warm, timeout=min(timeout, 120.0)) is None:
            raise EktpError(f"the faust relay's worker did not relay its warm-up; see {log_path}")
        took = await _relay_through(settings, topics, payloads, timeout=timeout, skip=WARM_UP)
        if took is None:
            raise EktpError(f"the faust relay did not relay {len(payloads)} payloads in {timeout:.0f}s; see {log_path}")
    finally:
        await _stop(worker)
        await delete_topics(settings, topics)
    return RelayBench(count=len(payloads), hops=hops, seconds=took)


async def _relay_through(
    settings: Settings, topics: Sequence[str], payloads: Sequence[tuple[bytes | None, bytes]], *,
    timeout: float, skip: int = 0,
) -> float | None:
    """Send `payloads` to the first topic; seconds until they all reach the last (after `skip` earlier ones)."""
    counting = asyncio.create_task(count_arrivals(settings, topics[-1], skip + len(payloads)))
    began = time.perf_counter()
    await send_all(settings, topics[0], payloads)
    try:
        async with asyncio.timeout(timeout):
            await counting
    except TimeoutError:
        return None
    return time.perf_counter() - began


async def _stop(worker: asyncio.subprocess.Process) -> None:
    if worker.returncode is None:
        worker.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await worker.wait()
        except TimeoutError:
            worker.kill()
            await worker.wait()


def main(argv: Sequence[str]) -> None:
    run, hops = argv[0], int(argv[1])
    settings = Settings()
    use_event_loop(settings.event_loop)  # the pipeline's workers' loop: the ceiling is measured on the same
    configure_logging(settings)
    back_off_failed_metadata_updates()  # as in every `ektp` process: the relay's clients are the worker's
    app = build_relay_app(settings, run, hops)
    DeadlineWorker(app, stop_timeout=settings.worker_stop_timeout, loglevel="warning",
                   override_logging=False).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])
