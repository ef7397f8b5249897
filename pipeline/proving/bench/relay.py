"""The baseline: what a plain Python Kafka client on this broker can do at most.

The same payloads go through as many topic hops as a request takes in the pipeline from submission to
its COLLECTED status (`PIPELINE_HOPS`), each hop a bare consume→produce loop with no parsing, no state and
no status, batched as a plain aiokafka program would be: large fetches, one shared producer with linger
and big batches, `acks=all` and idempotent like the worker's producer. The pipeline cannot beat this; `ratio` says how
close it gets.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import NewTopic
from aiokafka.structs import TopicPartition

from pipeline.config import Settings
from pipeline.kafka.admin import admin_client
from pipeline.kafka.security import ADMIN_ROLE, client_options

# A request's path, as topics written in order (the routing table, pipeline/topology/routes.py):
PIPELINE_PATH = (
    "ektp.enrollment.submitted",        # the desk (the bench) sends
    "ektp.internal.citizen-inbox",      # take_in_submissions: validated, keyed by citizen
    "ektp.print.requested",             # record_and_approve: recorded, central's decision, the print job
    "ektp.print.completed",             # the printing station
    "ektp.pickup.ready",                # follow_cards: approved and printed
    "ektp.pickup.requested.v2",         # the pickup desk (the bench) presents the finger
    "ektp.pickup.collected",            # follow_cards: handed over
)
PIPELINE_HOPS = len(PIPELINE_PATH) - 1  # consume→produce steps between the first write and the last

FETCH_RECORDS = 5000
PRODUCER_LINGER_MS = 5
PRODUCER_BATCH_BYTES = 1024 * 1024
# The relay's topics are its own, outside the registry, so no program's role may touch them: it runs as `admin`.
RELAY_ROLE = ADMIN_ROLE
RELAY_TOPIC_PREFIX = "bench.relay."  # every relay topic's name starts so: `bench.relay.<run>.<n>`
LEADERS_WITHIN = 10.0  # seconds `create_topics` waits for the new topics' leaders at most


@dataclass(frozen=True)
class RelayBench:
    """`count` records relayed through `hops` hops in `seconds`; `cpu_seconds` is this process's CPU time over the
    same window (`time.process_time`): the relay's clients, all in this process."""

    count: int
    hops: int
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def bench_relay(
    settings: Settings, payloads: Sequence[tuple[bytes | None, bytes]], *, hops: int = PIPELINE_HOPS,
    timeout: float = 600.0, options: Mapping[str, Any] | None = None,
) -> RelayBench:
    """Relay `payloads` (key, value) through `hops` fresh topics; the time from the first send to the last arrival.

    The topics are created and deleted by `admin` through `settings`; the relay's producer and consumers connect
    with `options` (an aiokafka client's connection arguments, bootstrap servers included), by default
    `client_options(settings, RELAY_ROLE)`: another listener of the same broker can be measured that way.
    """
    run = uuid.uuid4().hex[:8]
    topics = [f"{RELAY_TOPIC_PREFIX}{run}.{number}" for number in range(hops + 1)]
    connection = dict(options) if options is not None else client_options(settings, RELAY_ROLE)
    await create_topics(settings, topics)
    producer = AIOKafkaProducer(
        **connection, acks="all", enable_idempotence=True,
        linger_ms=PRODUCER_LINGER_MS, max_batch_size=PRODUCER_BATCH_BYTES, client_id=f"bench-relay-{run}",
    )
    # One consumer per hop reads topic n and writes n+1; the last one only counts what arrives.
    readers = {topic: _consumer(connection, run) for topic in topics}
    await producer.start()
    tasks: list[asyncio.Task[None]] = []
    try:
        for topic, consumer in readers.items():
            await consumer.start()
            await _assign(settings, consumer, topic)
        arrived = asyncio.Event()
        tasks = [asyncio.create_task(_relay(readers[source], producer, target))
                 for source, target in itertools.pairwise(topics)]
        tasks.append(asyncio.create_task(_sink(readers[topics[-1]], len(payloads), arrived)))
        began, cpu_began = time.perf_counter(), time.process_time()
        await _send_with(producer, topics[0], payloads)
        async with asyncio.timeout(timeout):
            await arrived.wait()
        took, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for consumer in readers.values():
            await consumer.stop()
        await producer.stop()
        await delete_topics(settings, topics)
    return RelayBench(count=len(payloads), hops=hops, seconds=took, cpu_seconds=cpu)


def _consumer(connection: Mapping[str, Any], run: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **connection, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_bytes=50 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
        client_id=f"bench-relay-{run}",
    )


async def _assign(settings: Settings, consumer: AIOKafkaConsumer, topic: str) -> None:
    """Every partition of `topic`, from the start (the topics are new: nothing to skip, no group to join)."""
    partitions = [TopicPartition(topic, partition) for partition in range(settings.topic_partitions)]
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)


async def _send_with(producer: AIOKafkaProducer, topic: str, payloads: Sequence[tuple[bytes | None, bytes]]) -> None:
    pending = [await producer.send(topic, value, key=key) for key, value in payloads]
    await asyncio.gather(*pending)


async def send_all(settings: Settings, topic: str, payloads: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Send `payloads` (key, value) to `topic` as the relay's own producer does, and wait for every ack."""
    producer = AIOKafkaProducer(
        **client_options(settings, RELAY_ROLE), acks="all", enable_idempotence=True,
        linger_ms=PRODUCER_LINGER_MS, max_batch_size=PRODUCER_BATCH_BYTES, client_id="bench-relay-desk",
    )
    await producer.start()
    try:
        await _send_with(producer, topic, payloads)
    finally:
        await producer.stop()


async def count_arrivals(settings: Settings, topic: str, expected: int) -> None:
    """Return once `expected` records are in `topic`, counted from its start."""
    consumer = _consumer(client_options(settings, RELAY_ROLE), "count")
    await consumer.start()
    try:
        await _assign(settings, consumer, topic)
        await _sink(consumer, expected, asyncio.Event())
    finally:
        await consumer.stop()


async def _relay(source: AIOKafkaConsumer, producer: AIOKafkaProducer, target: str) -> None:
    """One hop: read a batch, write each record on unchanged, wait for the acks, read the next."""
    while True:
        batches = await source.getmany(timeout_ms=100, max_records=FETCH_RECORDS)
        pending = [await producer.send(target, record.value, key=record.key)
                   for records in batches.values() for record in records]
        if pending:
            await asyncio.gather(*pending)


async def _sink(consumer: AIOKafkaConsumer, expected: int, arrived: asyncio.Event) -> None:
    seen = 0
    while seen < expected:
        batches = await consumer.getmany(timeout_ms=100, max_records=FETCH_RECORDS)
        seen += sum(len(records) for records in batches.values())
    arrived.set()


async def create_topics(settings: Settings, topics: Sequence[str]) -> None:
    """Create `topics` and wait until the broker's metadata names a leader for each of their partitions (for
    `LEADERS_WITHIN` s at most): a client started before then logs an error for each topic it cannot find yet."""
    async with admin_client(settings, role=RELAY_ROLE) as admin:
        await admin.create_topics([NewTopic(topic, settings.topic_partitions, settings.topic_replication,
                                            topic_configs={"min.insync.replicas": str(settings.topic_min_insync)})
                                   for topic in topics])
        deadline = time.monotonic() + LEADERS_WITHIN
        while time.monotonic() < deadline:
            if _all_led(await admin.describe_topics(list(topics)), len(topics)):
                return
            await asyncio.sleep(0.05)


def _all_led(described: list[Any], expected: int) -> bool:
    return len(described) == expected and all(
        topic["error_code"] == 0 and topic["partitions"] and all(part["leader"] >= 0 for part in topic["partitions"])
        for topic in described
    )


async def delete_topics(settings: Settings, topics: Sequence[str]) -> None:
    async with admin_client(settings, role=RELAY_ROLE) as admin:
        await admin.delete_topics(list(topics))
