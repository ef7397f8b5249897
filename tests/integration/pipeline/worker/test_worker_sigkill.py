"""A worker killed with SIGKILL and started again takes up its partitions within seconds, not a minute.

The new worker's rebalance waits for the killed worker's consumer-group session to expire; with faust's
default of 60 s nothing would be processed for about a minute after a crash, so the worker sets a short
session timeout (`SESSION_TIMEOUT_SECONDS`).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from events.status import RequestState
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.topology.topics import REQUEST_STATUS
from pipeline.worker.app import SESSION_TIMEOUT_SECONDS
from tests.support.app_ids import own_app_id
from tests.support.processes import Process
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import Records, latest_statuses, read_until, start_group_at_the_end
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

# Long enough for a worker to start and rebalance on a busy 2-core machine, well short of the minute that a
# dead member's session holds its partitions for under faust's default.
TAKE_UP_TIMEOUT = 45.0


def awaiting_central(request_id: str) -> Any:
    """Done when `request_id` waits for central (no central runs here, so that is where it settles)."""
    def done(records: Records) -> bool:
        status = latest_statuses(records).get(request_id)
        return status is not None and status.state == RequestState.AWAITING_CENTRAL

    return done


@pytest.fixture
async def settings(kafka: Settings) -> AsyncIterator[Settings]:
    """The session's broker with an app id of the test's own: a consumer group and tables no other test used."""
    async with own_app_id(kafka, "ektp-sigkill-test") as own:
        yield own


async def test_a_worker_restarted_after_sigkill_goes_on_without_waiting_out_the_dead_ones_session(
    settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL the worker, start another at once and send it work: it is processed well within a minute."""
    assert SESSION_TIMEOUT_SECONDS * 2 < TAKE_UP_TIMEOUT
    await ensure_topics(settings)
    await start_group_at_the_end(settings)
    rng = random.Random()
    first, second = fresh_resident(rng), fresh_resident(rng)
    killed = Process("worker", ["worker"], settings, tmp_path)
    try:
        wait_until(lambda: "Worker ready" in killed.log(), timeout=90, what="the first worker is ready")
        starting = [json.loads(line) for line in killed.log().splitlines() if '"worker starting"' in line]
        assert [line["event_loop"] for line in starting] == ["uvloop"], killed.tail()  # the default loop
        await submit(settings, first)
        await read_until(settings, REQUEST_STATUS.name, awaiting_central(first["request_id"]), timeout=60)
    finally:
        killed.kill()
    again = Process("worker-again", ["worker"], settings, tmp_path)
    try:
        await submit(settings, second)  # arrives while the new worker starts and recovers its tables
        await read_until(settings, REQUEST_STATUS.name, awaiting_central(second["request_id"]),
                         timeout=TAKE_UP_TIMEOUT)
    finally:
        assert again.stop() == 0, again.tail()
