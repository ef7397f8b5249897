"""Reading topics without a consumer group: once to their end, or following them as they grow.

The reader names its role (`pipeline.kafka.security`), which must be allowed to read the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.admin import partition_ids
from pipeline.kafka.security import client_options

Record: TypeAlias = ConsumerRecord[bytes, bytes]


async def read_topic(settings: Settings, topic: str, *, role: str, timeout: float = 120.0) -> list[Record]:
    """Every record of `topic` written before this call, partition by partition in offset order, read as `role`."""
    consumer = AIOKafkaConsumer(
        **client_options(settings, role), enable_auto_commit=False, group_id=None,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        numbers = await partition_ids(settings, topic, role=role)
        partitions = [TopicPartition(topic, number) for number in numbers]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        by_partition: dict[int, list[Record]] = {tp.partition: [] for tp in partitions}
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            if time.monotonic() > deadline:
                raise EktpError(f"{topic}: could not read to its end within {timeout:.0f}s")
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                by_partition[tp.partition].extend(record for record in batch if record.offset < ends[tp])
    finally:
        await consumer.stop()
    return [record for number in sorted(by_partition) for record in by_partition[number]]


class TopicFollower:
    """Reads its topics from their start, without a consumer group, and keeps following them.

    A subclass keeps what it needs of each record in `take`; the follower owns the consumer, its task and
    the positions it has read to, so that `caught_up` can wait for everything written before a moment. It
    reads as `role`, which the caller names: one view serves the dashboard (`operator`) and the tools (`admin`).
    """

    topics: tuple[str, ...]

    def __init__(self, settings: Settings, role: str) -> None:
        self.settings = settings
        self.role = role
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *self.topics, **client_options(self.settings, self.role), group_id=None,
            auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=5000,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def caught_up(self, timeout: float = 60.0) -> None:
        """Wait until everything written before this call has been read."""
        assert self._consumer is not None, "start() first"
        deadline = asyncio.get_running_loop().time() + timeout
        ends: dict[TopicPartition, int] | None = None
        while ends is None or any(self._positions.get(tp, 0) < end for tp, end in ends.items()):
            if ends is None and self._consumer.assignment():
                ends = await self._consumer.end_offsets(list(self._consumer.assignment()))
                continue
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{', '.join(self.topics)}: not caught up within {timeout:.0f}s")
            await asyncio.sleep(0.05)

    async def _follow(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            self.take(record)
            self._positions[TopicPartition(record.topic, record.partition)] = record.offset + 1

    def take(self, record: Record) -> None:
        """Keep what this view needs of one record."""
        raise NotImplementedError
