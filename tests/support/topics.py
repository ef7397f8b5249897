"""Reading what the pipeline wrote, waiting until the expected messages are there."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from events.status import RequestStatus
from pipeline.config import Settings
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.topology.topics import REGISTRY

Records = list[ConsumerRecord[bytes, bytes]]


async def read_until(
    settings: Settings, topic: str, done: Callable[[Records], bool], *, timeout: float = 60.0
) -> Records:
    """Every record of `topic` from its start, read until `done(records)` holds; fails after `timeout`.

    Read as the admin: a test looks at every topic, whatever role wrote it.
    """
    consumer = AIOKafkaConsumer(
        topic, **client_options(settings, ADMIN_ROLE), auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None, metadata_max_age_ms=1000,
    )
    await consumer.start()
    records: Records = []
    deadline = time.monotonic() + timeout
    try:
        while not done(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: expected messages not there after {timeout}s ({len(records)} read)")
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


def latest_statuses(records: Records) -> dict[str, RequestStatus]:
    """The last status of each request among `records` of `ektp.request.status`."""
    latest: dict[str, RequestStatus] = {}
    for record in records:
        status = RequestStatus.model_validate_json(record.value)
        latest[status.request_id] = status
    return latest


async def start_group_at_the_end(settings: Settings) -> None:
    """Commit the end of every pipeline topic for the group of `settings.app_id`, which has never run.

    The session's topics hold every earlier test's messages, and a new group reads them all from the start
    (`consumer_auto_offset_reset="earliest"`), which takes longer the later a test runs. A test that needs
    none of them starts its worker's group here instead.
    """
    # As `ensure_topics` created them: no need to ask the broker topic by topic.
    partitions = [TopicPartition(spec.name, number) for spec in REGISTRY
                  for number in range(spec.partition_count(settings.topic_partitions))]
    consumer = AIOKafkaConsumer(**client_options(settings, ADMIN_ROLE), group_id=settings.app_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = {partition: offset for partition, offset in (await consumer.end_offsets(partitions)).items() if offset}
        if ends:  # on a fresh broker there is nothing to skip
            await consumer.commit(ends)
    finally:
        await consumer.stop()
