"""A citizen's message read again after a crash changes nothing: one request, one decision, no status back.

A worker killed after it wrote a citizen's entry but before it committed its offset reads the same inbox
message again after its restart. Everything that message caused was sent before the entry was written
(`pipeline/worker/citizens.py`), so the entry's memory of it makes the message a repeat. The crash is played
by rewinding the workers' committed offset on the inbox to that message, which is what the broker holds after
such a kill.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from events.approval import ApprovalDecided
from events.enrollment import EnrollmentRecorded
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.kafka.reading import read_topic
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.sandbox import Sandbox
from pipeline.topology.topics import APPROVAL_DECIDED, CITIZEN_INBOX, ENROLLMENT_RECORDED, REQUEST_STATUS
from processors.status import STATE_RANK
from tests.support.processes import Process, worker_ready
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import Records, latest_statuses, read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


async def rewind(settings: Settings, partition: TopicPartition, offset: int) -> None:
    """Commit `offset` for the workers' group on `partition`, as if nothing after it had been committed.

    As the admin: the test plays the broker's memory of a crash, not a worker.
    """
    consumer = AIOKafkaConsumer(**client_options(settings, ADMIN_ROLE), group_id=settings.app_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.commit({partition: offset})
    finally:
        await consumer.stop()


def of_request(records: Records, request_id: str, model: type[EnrollmentRecorded | ApprovalDecided]) -> int:
    return sum(1 for record in records if request_id.encode() in record.value
               and model.model_validate_json(record.value).request_id == request_id)


async def test_an_inbox_message_read_again_is_a_repeat_and_changes_nothing(tmp_path: Path) -> None:
    """Rewound to a recorded request's message, the restarted worker records and decides nothing twice."""
    rng = random.Random()
    document = fresh_resident(rng)
    request_id = document["request_id"]
    # The same citizen again, later in the same partition: once it is refused, the rewound message was read.
    probe = {**fresh_resident(rng), "resident": document["resident"]}
    # A broker of its own: the restarted worker's group reads only this test's records.
    async with Sandbox(only=("central-sim",), central_flags=("--latency-ms", "0"), topic_partitions=3,
                       broker_heap="384m") as settings:
        first = Process("worker", ["worker"], settings, tmp_path)
        try:
            await asyncio.to_thread(wait_until, lambda: worker_ready(first), timeout=90, what="the first worker")
            await submit(settings, document)
            await read_until(settings, REQUEST_STATUS.name,
                             lambda rs: getattr(latest_statuses(rs).get(request_id), "state", None)
                             == RequestState.PRINT_QUEUED, timeout=60)
        finally:
            assert first.stop() == 0, first.tail()

        [message] = [record for record in await read_topic(settings, CITIZEN_INBOX.name, role=ADMIN_ROLE)
                     if request_id.encode() in record.value]
        await rewind(settings, TopicPartition(CITIZEN_INBOX.name, message.partition), message.offset)

        again = Process("worker-again", ["worker"], settings, tmp_path)
        try:
            await asyncio.to_thread(wait_until, lambda: worker_ready(again), timeout=90, what="the worker again")
            await submit(settings, probe)
            statuses = await read_until(settings, REQUEST_STATUS.name,
                                        lambda rs: probe["request_id"] in latest_statuses(rs), timeout=60)
        finally:
            assert again.stop() == 0, again.tail()
        recorded = await read_topic(settings, ENROLLMENT_RECORDED.name, role=ADMIN_ROLE)
        decided = await read_topic(settings, APPROVAL_DECIDED.name, role=ADMIN_ROLE)

    assert latest_statuses(statuses)[probe["request_id"]].state == RequestState.REJECTED, "the first is still open"
    assert of_request(recorded, request_id, EnrollmentRecorded) == 1, "one request, recorded once"
    assert of_request(decided, request_id, ApprovalDecided) == 1, "central's decision published once"
    published = [status for status in (RequestStatus.model_validate_json(record.value) for record in statuses)
                 if status.request_id == request_id]
    ranks = [STATE_RANK[status.state] for status in published]
    assert ranks == sorted(ranks), "no status of the request moved back"
