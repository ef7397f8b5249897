"""One worker per pipeline: a second worker in the same group refuses to run, and the first one goes on.

Two workers would each hold part of the status table, which is partitioned by request_id while the events
that move a status are not (`pipeline/worker/sole_worker.py`): a status could move backwards.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from events.enrollment import EnrollmentRecorded
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.topology.topics import ENROLLMENT_RECORDED
from pipeline.worker.run import ANOTHER_WORKER
from tests.support.env import free_port
from tests.support.processes import Process, worker_ready
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import read_until, start_group_at_the_end
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


async def still_records(settings: Settings) -> None:
    """The group's worker takes in a fresh submission and records it."""
    document = fresh_resident(random.Random())
    await submit(settings, document)
    await read_until(settings, ENROLLMENT_RECORDED.name,
                     lambda records: any(EnrollmentRecorded.model_validate_json(record.value).request_id
                                         == document["request_id"] for record in records), timeout=90)


async def test_a_worker_started_beside_a_running_one_refuses_to_start(kafka: Settings, tmp_path: Path) -> None:
    settings = kafka.model_copy(update={"app_id": f"ektp-sole-test-{uuid.uuid4().hex[:8]}",
                                        "worker_takeover_wait": 2.0})
    await ensure_topics(settings)
    await start_group_at_the_end(settings)
    first = Process("worker", ["worker"], settings, tmp_path)
    second: Process | None = None
    try:
        wait_until(lambda: worker_ready(first), timeout=90, what="the first worker is ready")
        second = Process("worker-second", ["worker"], settings, tmp_path)
        wait_until(lambda: not second.alive(), timeout=60, what="the second worker refuses")
        assert second.stop() == 1, second.tail()
        said = " ".join(second.log().split())  # the console wraps the error line
        assert f"error: another worker runs in group {settings.app_id} (ektp-worker-" in said, second.tail()
        assert "Worker ready" not in second.log()
        assert first.alive(), first.tail()
        await still_records(settings)
    finally:
        if second is not None:
            second.stop()
        assert first.stop() == 0, first.tail()


async def test_of_two_workers_started_together_one_stops_and_the_other_goes_on(
    kafka: Settings, tmp_path: Path
) -> None:
    # No wait before starting: both usually find the group empty, join it, and the later one yields after
    # the assignment (exit ANOTHER_WORKER). A slow start can make the later one find the first and refuse
    # at once instead (exit 1). Either way one worker remains.
    settings = kafka.model_copy(update={"app_id": f"ektp-sole-test-{uuid.uuid4().hex[:8]}",
                                        "worker_takeover_wait": 0.0})
    await ensure_topics(settings)
    await start_group_at_the_end(settings)
    workers = [
        Process("worker-a", ["worker"], settings, tmp_path),
        Process("worker-b", ["worker"], settings.model_copy(update={"worker_metrics_port": free_port()}), tmp_path),
    ]
    try:
        wait_until(lambda: any(not worker.alive() for worker in workers), timeout=120,
                   what="one of the two workers stops")
        [gone] = [worker for worker in workers if not worker.alive()]
        [stays] = [worker for worker in workers if worker.alive()]
        assert gone.stop() in (ANOTHER_WORKER, 1), gone.tail()
        if gone.popen.returncode == ANOTHER_WORKER:
            assert "another worker started before this one in the same group: this one stops" in gone.log()
        wait_until(lambda: worker_ready(stays), timeout=90, what="the remaining worker is ready")
        await still_records(settings)
        assert stays.alive(), stays.tail()
    finally:
        for worker in workers:
            worker.stop()
    assert stays.popen.returncode == 0, stays.tail()
