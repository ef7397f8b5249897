"""How many decisions a second the pipeline's central client gets from central-sim.

Used by `ektp bench central`: central-sim must run (e.g. `ektp central-sim --latency-ms 0 --rate 0`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass

from pipeline.central import CentralClient
from pipeline.config import Settings
from pipeline.proving.synthetic import generate_documents


@dataclass(frozen=True)
class CentralBench:
    calls: int
    seconds: float
    concurrency: int

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


async def bench_central(settings: Settings, count: int, *, seed: int | None = None) -> CentralBench:
    """`count` fresh enrollments through one client, `central_concurrency` in flight at once."""
    documents = generate_documents(count, seed=seed if seed is not None else secrets.randbelow(2**31))
    for document in documents:
        document["citizen_key"] = secrets.token_hex(32)
    async with CentralClient(settings) as client:
        queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        for document in documents:
            queue.put_nowait(document)

        async def worker() -> None:
            while not queue.empty():
                await client.enroll(queue.get_nowait())

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(settings.central_concurrency)))
        took = time.perf_counter() - began
    return CentralBench(calls=count, seconds=took, concurrency=settings.central_concurrency)
