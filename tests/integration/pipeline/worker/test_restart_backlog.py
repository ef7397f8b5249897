"""Submissions waiting while a worker restarts are all recorded: none is dropped as the worker starts.

At the end of its recovery faust seeks to the committed offsets and then clears its stream queues while its
consumer still flows, so what it fetched in between is dropped yet counted as read, and the partition's commits
stall behind it until the next restart (faust-streaming #596); `seek_before_fetching_on_start` stops the flow
first. faust's seek back also skips the partitions the group never committed, which would go on from the end
of the dropped fetch; `rewind_unread_on_every_seek` starts those at their beginning. Both are in
`pipeline.worker.faust_fixes`.
"""

from __future__ import annotations

import random
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.enrollment import EnrollmentRecorded
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.topology.topics import ENROLLMENT_RECORDED, ENROLLMENT_SUBMITTED
from tests.support.app_ids import own_app_id
from tests.support.processes import Process, worker_ready
from tests.support.submissions import fresh_resident, submit, submit_all
from tests.support.topics import Records, read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

BACKLOG = 300  # enough that the worker is still fetching it when its recovery ends



def recorded(records: Records) -> set[str]:
    return {EnrollmentRecorded.model_validate_json(record.value).request_id for record in records}


@pytest.fixture
async def settings(kafka: Settings) -> AsyncIterator[Settings]:
    """The session's broker with an app id of the test's own: a consumer group and tables no other test used."""
    async with own_app_id(kafka, "ektp-backlog-test") as own:
        yield own


async def test_a_backlog_waiting_when_the_worker_starts_is_recorded_whole(settings: Settings, tmp_path: Path) -> None:
    await ensure_topics(settings)
    rng = random.Random()

    first = Process("worker", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: worker_ready(first), timeout=90, what="the first worker is ready")
        sentinel = fresh_resident(rng)
        await submit(settings, sentinel)  # the first worker has caught up with the topic once this is recorded
        await read_until(settings, ENROLLMENT_RECORDED.name,
                         lambda rs: sentinel["request_id"] in recorded(rs), timeout=90)
        # SIGQUIT describes a live worker without stopping it: its tasks, then its consumer's offsets.
        first.popen.send_signal(signal.SIGQUIT)
        wait_until(lambda: "consumer state on SIGQUIT" in first.log(), timeout=30, what="the consumer's state")
        assert "Agent._execute_actor > wire_take_in.<locals>.take_in_submissions" in first.log()
        assert f'"{ENROLLMENT_SUBMITTED.name}[0]": {{"read": ' in first.log()
        assert first.alive()
    finally:
        assert first.stop() == 0, first.tail()

    backlog = [fresh_resident(rng) for _ in range(BACKLOG)]
    await submit_all(settings, backlog)
    wanted = {str(document["request_id"]) for document in backlog}

    again = Process("worker-again", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: worker_ready(again), timeout=90, what="the restarted worker is ready")
        records = await read_until(settings, ENROLLMENT_RECORDED.name,
                                   lambda rs: wanted <= recorded(rs), timeout=90)
    finally:
        assert again.stop() == 0, again.tail()
    assert wanted <= recorded(records)
