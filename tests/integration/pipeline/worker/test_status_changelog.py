"""The status tracker's table survives a restart with each request's latest status, never an older one,
and a status whose publication a crash cut off is published when its event is read again.

One request's events reach the tracker from topics keyed differently (citizen key, office code). A changelog
that followed the partition of each event would spread a request's writes over several changelog partitions;
a restarted worker restores them partition by partition, so an older status could come out on top and the
next event publish a state below what readers have seen (COLLECTED, then READY_FOR_PICKUP again). The
table's changelog is therefore partitioned by request_id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from events.status import RequestState, RequestStatus, StatusNoted
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.reading import read_topic
from pipeline.topology.topics import REQUEST_STATUS, STATUS_NOTES
from processors.status import STATE_RANK
from tests.support.processes import Process, worker_ready
from tests.support.topics import Records, read_until, start_group_at_the_end
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


async def note(
    settings: Settings, request_id: str, state: RequestState, partition: int, event_id: uuid.UUID | None = None
) -> None:
    """A step's note of `state`, put on `partition` of the notes topic whatever its key would choose."""
    noted = StatusNoted(request_id=request_id, citizen_key="c" * 64, state=state, office_code="2172", producer="test",
                        occurred_at=dt.datetime.now(dt.UTC), event_id=event_id or uuid.uuid4())
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(STATUS_NOTES.name, noted.model_dump_json().encode(), key=b"c" * 64,
                                     partition=partition)
    finally:
        await producer.stop()


def states_of(records: Records, request_id: str) -> list[RequestState]:
    """The states the status topic published for `request_id`, in order."""
    statuses = [RequestStatus.model_validate_json(record.value) for record in records if record.value]
    return [status.state for status in statuses if status.request_id == request_id]


async def published(
    settings: Settings, request_id: str, state: RequestState, times: int = 1
) -> list[RequestState]:
    """The states published for `request_id`, once `state` has been published `times` times."""
    records = await read_until(settings, REQUEST_STATUS.name,
                               lambda rs: states_of(rs, request_id).count(state) >= times, timeout=60)
    return states_of(records, request_id)



async def test_a_requests_status_writes_share_one_changelog_partition_and_survive_a_restart(
    kafka: Settings, tmp_path: Path
) -> None:
    """Statuses from two partitions land in one changelog partition; after a restart nothing moves back."""
    settings = kafka.model_copy(update={"app_id": f"ektp-changelog-test-{uuid.uuid4().hex[:8]}"})
    await ensure_topics(settings)
    await start_group_at_the_end(settings)
    request_id, printed = str(uuid.uuid4()), uuid.uuid4()
    first = Process("worker", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: worker_ready(first), timeout=90, what="the first worker is ready")
        await note(settings, request_id, RequestState.SENT_FOR_ENROLLMENT, partition=1)
        await published(settings, request_id, RequestState.SENT_FOR_ENROLLMENT)
        await note(settings, request_id, RequestState.PRINTED, partition=0, event_id=printed)
        await published(settings, request_id, RequestState.PRINTED)
    finally:
        assert first.stop() == 0, first.tail()

    changelog = await read_topic(settings, f"{settings.app_id}-request_id_to_status-changelog")
    partitions = {record.partition for record in changelog if record.key and request_id.encode() in record.key}
    assert len(partitions) == 1, f"one request's status written to changelog partitions {sorted(partitions)}"

    again = Process("worker-again", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: worker_ready(again), timeout=90, what="the restarted worker is ready")
        # The event that made the current status, delivered again (as after a crash before its status went
        # out): the current status is published again, the same as before.
        await note(settings, request_id, RequestState.PRINTED, partition=0, event_id=printed)
        await published(settings, request_id, RequestState.PRINTED, times=2)
        await note(settings, request_id, RequestState.WAITING_FOR_BLANKS, partition=1)  # below PRINTED: no news
        await note(settings, request_id, RequestState.READY_FOR_PICKUP, partition=1)
        states = await published(settings, request_id, RequestState.READY_FOR_PICKUP)
    finally:
        assert again.stop() == 0, again.tail()
    ranks = [STATE_RANK[state] for state in states]
    assert ranks == sorted(ranks), f"published states moved back: {states}"
    assert RequestState.WAITING_FOR_BLANKS not in states
