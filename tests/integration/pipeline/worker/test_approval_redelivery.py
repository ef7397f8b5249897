"""A message whose decision was lost in a crash, read again, publishes that decision again; central is not
asked twice, and a replay (another message) is still skipped.

The approval step writes its table, then sends `decided`: a worker SIGKILLed in between keeps the first
and loses the second. The crash is played by rewinding the worker's committed offset on
`ektp.enrollment.recorded` to the recording message, which is what the broker holds after such a kill.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from events.approval import ApprovalDecided
from events.enrollment import EnrollmentRecorded
from events.status import RequestState
from pipeline.kafka.reading import read_topic
from pipeline.proving.sandbox import Sandbox
from pipeline.topology.topics import APPROVAL_DECIDED, ENROLLMENT_RECORDED, REQUEST_STATUS
from tests.integration.pipeline.worker.test_intake_redelivery import rewind
from tests.support.processes import Process, worker_ready
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import Records, latest_statuses, read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def decisions_of(records: Records, request_id: str) -> list[ApprovalDecided]:
    found = [ApprovalDecided.model_validate_json(record.value) for record in records]
    return [decision for decision in found if decision.request_id == request_id]


async def test_a_decision_lost_in_a_crash_is_published_again_without_asking_central(tmp_path: Path) -> None:
    # A broker of its own: on the session's, a new consumer group would first work through every earlier
    # test's records, asking central for each.
    document = fresh_resident(random.Random())
    request_id = document["request_id"]
    async with Sandbox(only=("central-sim",), central_flags=("--latency-ms", "0"), topic_partitions=3,
                       broker_heap="384m") as settings:
        first = Process("worker", ["worker"], settings, tmp_path)
        try:
            await asyncio.to_thread(wait_until, lambda: worker_ready(first), timeout=90,
                                    what="the first worker is ready")
            await submit(settings, document)
            await read_until(settings, REQUEST_STATUS.name,
                             lambda rs: getattr(latest_statuses(rs).get(request_id), "state", None)
                             == RequestState.PRINT_READY_RECORD, timeout=60)
        finally:
            assert first.stop() == 0, first.tail()

        [message] = [record for record in await read_topic(settings, ENROLLMENT_RECORDED.name)
                     if EnrollmentRecorded.model_validate_json(record.value).request_id == request_id]
        await rewind(settings, TopicPartition(ENROLLMENT_RECORDED.name, message.partition), message.offset)

        again = Process("worker-again", ["worker"], settings, tmp_path)
        try:
            await asyncio.to_thread(wait_until, lambda: worker_ready(again), timeout=90,
                                    what="the restarted worker is ready")
            records = await read_until(settings, APPROVAL_DECIDED.name,
                                       lambda rs: len(decisions_of(rs, request_id)) >= 2, timeout=60)
        finally:
            assert again.stop() == 0, again.tail()

    original, repeated = decisions_of(records, request_id)
    assert repeated == original, "the stored decision, event id and token included, is sent again"
    assert "decision published again" in again.log()
    assert "central decided" not in again.log(), "central was not asked a second time"
