"""What one request costs: the records written to Kafka and the worker's CPU, over a measured window.

Records are counted from every topic's end offsets (the registry's, the tables' changelogs, everything
but Kafka's own `__consumer_offsets`), so the desks' and the station's records count as much as the
worker's. CPU is the user and system time the worker processes spent, from `/proc/<pid>/stat`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline.config import Settings
from pipeline.kafka.admin import admin_client
from pipeline.kafka.security import ADMIN_ROLE, client_options

INTERNAL_PREFIX = "__"  # __consumer_offsets and the like: Kafka's bookkeeping, not the pipeline's records
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


async def records_written(settings: Settings, *, excluding: Iterable[str] = ()) -> int:
    """The sum of every topic's end offsets: how many records were ever written to the broker.

    Counted as `admin`, the one role that may describe every topic.
    """
    skipped = set(excluding)
    async with admin_client(settings, role=ADMIN_ROLE) as admin:
        names = [name for name in await admin.list_topics()
                 if not name.startswith(INTERNAL_PREFIX) and name not in skipped]
        described = await admin.describe_topics(names)
    partitions = [TopicPartition(topic["topic"], partition["partition"])
                  for topic in described if topic["error_code"] == 0 for partition in topic["partitions"]]
    consumer = AIOKafkaConsumer(**client_options(settings, ADMIN_ROLE), group_id=None,
                                enable_auto_commit=False, client_id="ektp-bench-offsets")
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    return sum(ends.values())


def cpu_seconds(pids: Iterable[int]) -> float:
    """User plus system CPU time of the processes `pids` so far, in seconds (a process that is gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: the 14th and 15th fields of stat
    return total / TICKS_PER_SECOND


@dataclass(frozen=True)
class Cost:
    """Records written and CPU spent in a window, per request collected in it.

    `cpu_seconds` is the workers'; `cpu_by_process` every process measured, by name (workers, station,
    central-sim, broker, the bench itself), so that what limits a run shows in its result.
    """

    records: int
    cpu_seconds: float
    requests: int
    cpu_by_process: dict[str, float] = field(default_factory=dict)

    @property
    def records_per_request(self) -> float:
        return self.records / self.requests if self.requests else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0

    def cpu_ms_per_request_by_process(self) -> dict[str, float]:
        if not self.requests:
            return {}
        return {name: round(1000 * seconds / self.requests, 2) for name, seconds in self.cpu_by_process.items()}


class CostMeter:
    """Marks the start of a window, then measures what it cost.

    `processes` names the pids to measure; those named `worker...` are the workers.
    """

    def __init__(self, settings: Settings, processes: dict[str, int]) -> None:
        self.settings = settings
        self.processes = processes
        self._records = 0
        self._cpu: dict[str, float] = {}

    async def start(self) -> None:
        self._records = await records_written(self.settings)
        self._cpu = {name: cpu_seconds([pid]) for name, pid in self.processes.items()}

    async def stop(self, requests: int) -> Cost:
        spent = {name: cpu_seconds([pid]) - self._cpu[name] for name, pid in self.processes.items()}
        records = await records_written(self.settings) - self._records
        workers = sum(seconds for name, seconds in spent.items() if name.startswith("worker"))
        return Cost(records=records, cpu_seconds=workers, requests=requests, cpu_by_process=spent)
