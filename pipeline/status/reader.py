"""Reading one request's status from the compacted `ektp.request.status` topic, as any client can."""

from __future__ import annotations

import contextlib

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from events.status import RequestStatus
from pipeline.config import Settings
from pipeline.kafka.admin import partition_ids
from pipeline.kafka.partitioning import key_partition
from pipeline.kafka.security import client_options
from pipeline.topology.topics import REQUEST_STATUS


async def read_status(
    settings: Settings, request_id: str, *, role: str, timeout: float = 15.0
) -> RequestStatus | None:
    """The latest status of `request_id`, or None when the tracker has never seen it; read as `role` (an
    operator's `ektp status`, or the pickup desk).

    Reads only the partition the key hashes to (Kafka's default partitioner, as the tracker writes
    with), from the start to its current end: compaction keeps that short.
    """
    key = request_id.encode()
    partitions = await partition_ids(settings, REQUEST_STATUS.name, role=role, timeout=timeout)
    if not partitions:
        return None
    consumer = AIOKafkaConsumer(
        **client_options(settings, role), enable_auto_commit=False, group_id=None,
        request_timeout_ms=int(timeout * 1000),
    )
    await consumer.start()
    try:
        partition = TopicPartition(REQUEST_STATUS.name, key_partition(key, partitions))
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        latest: RequestStatus | None = None
        while await consumer.position(partition) < end:
            batches = await consumer.getmany(partition, timeout_ms=int(timeout * 1000))
            if not batches:
                break
            for record in batches.get(partition, ()):
                if record.key == key and record.offset < end and record.value is not None:
                    with contextlib.suppress(ValidationError):  # a stranger's garbage never hides the truth
                        latest = RequestStatus.model_validate_json(record.value)
    finally:
        await consumer.stop()
    return latest
