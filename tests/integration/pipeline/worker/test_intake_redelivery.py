"""A recording message read again after a crash records its request again; a desk's repeat still does not.

The intake remembers a request in its table before the `recorded` message leaves, so a worker SIGKILLed in
between reads the same message again after its restart: it must not take it for a repeat, or the request is
never recorded. Here the crash is played by rewinding the worker's committed offset on the internal topic,
which is exactly what the broker holds after such a kill.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from events.enrollment import EnrollmentRecorded, SubmissionValidated
from events.status import RequestState
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.reading import read_topic
from pipeline.topology.topics import ENROLLMENT_RECORDED, INTAKE_BY_CITIZEN, REQUEST_STATUS
from tests.support.processes import Process, worker_ready
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import Records, latest_statuses, read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration



def recorded_ids(records: Records, request_id: str) -> int:
    """How many `recorded` messages `request_id` has among `records`."""
    return sum(1 for record in records if EnrollmentRecorded.model_validate_json(record.value).request_id == request_id)


async def rewind(settings: Settings, partition: TopicPartition, offset: int) -> None:
    """Commit `offset` for the workers' group on `partition`, as if nothing after it had been committed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=settings.app_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.commit({partition: offset})
    finally:
        await consumer.stop()


async def test_the_message_that_recorded_a_request_read_again_records_it_again(kafka: Settings, tmp_path: Path) -> None:
    """Rewound to the recording message, the restarted worker sends `recorded` for it once more."""
    settings = kafka.model_copy(update={"app_id": f"ektp-redelivery-test-{uuid.uuid4().hex[:8]}"})
    await ensure_topics(settings)
    document = fresh_resident(random.Random())
    request_id = document["request_id"]
    first = Process("worker", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: worker_ready(first), timeout=90, what="the first worker is ready")
        await submit(settings, document)
        await read_until(settings, REQUEST_STATUS.name,
                         lambda rs: latest_statuses(rs).get(request_id) is not None
                         and latest_statuses(rs)[request_id].state == RequestState.AWAITING_CENTRAL, timeout=60)
    finally:
        assert first.stop() == 0, first.tail()

    # Other tests may leave garbage on the session's topic (the unreadable-message test does): skip it.
    [message] = [record for record in await read_topic(settings, INTAKE_BY_CITIZEN.name)
                 if request_id.encode() in record.value
                 and SubmissionValidated.model_validate_json(record.value).request_id == request_id]
    await rewind(settings, TopicPartition(INTAKE_BY_CITIZEN.name, message.partition), message.offset)

    again = Process("worker-again", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: worker_ready(again), timeout=90, what="the restarted worker is ready")
        records = await read_until(settings, ENROLLMENT_RECORDED.name,
                                   lambda rs: recorded_ids(rs, request_id) >= 2, timeout=60)
    finally:
        assert again.stop() == 0, again.tail()
    assert recorded_ids(records, request_id) == 2
    assert "recorded again" in again.log()
