"""Two workers share the partitions; when one is SIGKILLed the other takes them all over and goes on.

The survivor takes the killed worker's table partitions over from the standby copies it kept of them,
replaying only what its copies had not reached.

Every request reaches its terminal state once, one card each, and no status moves backwards: correct by
construction, since a citizen's entry and every event about them move together to whichever worker owns
their partition.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from events.common import WIB
from events.identity import citizen_key
from events.printing import CardPrinted
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.kafka.groups import Member, group_members
from pipeline.kafka.reading import read_topic
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.proving.sandbox import Sandbox
from pipeline.proving.synthetic import generate_submissions
from pipeline.station.inventory import restock
from pipeline.topology.topics import CITIZEN_INBOX, PRINT_COMPLETED, REQUEST_STATUS
from processors.status import STATE_RANK, TERMINAL_STATES
from tests.support.submissions import fresh_resident, submit
from tests.support.topics import latest_statuses, read_until
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.integration

STATION = "TPI-FAILOVER"
PARTITIONS = 4
COUNT = 40
TAKEOVER_LIMIT = 15.0  # seconds from the SIGKILL to a fresh submission RECORDED by the other worker


async def owners(settings: Settings) -> list[Member]:
    """The workers' group members that own inbox partitions, as the dashboard sees them (the operators' role)."""
    return [member for member in await group_members(settings, settings.app_id) or []
            if member.of(CITIZEN_INBOX.name)]


async def test_a_killed_worker_s_partitions_are_taken_over_and_every_request_ends_once() -> None:
    """SIGKILL one of two workers mid-run: the other owns every partition and a fresh request is RECORDED in time."""
    submissions = generate_submissions(COUNT, seed=random.randrange(2**31), today=dt.datetime.now(WIB).date())
    ids = {s.request_id for s in submissions if s.request_id}
    sandbox = Sandbox(only=("central-sim", "worker", "station"), workers=2, station=STATION,
                      central_flags=("--latency-ms", "0"), topic_partitions=PARTITIONS, broker_heap="384m",
                      station_instant=True)
    async with sandbox as settings:
        await wait_until_async(lambda: _two_owners(settings), timeout=60,
                               what="both workers own partitions")
        await restock(settings, STATION, COUNT + 10)
        await send_submissions(settings, submissions[: COUNT // 2])
        first = {s.request_id for s in submissions[: COUNT // 2] if s.request_id}
        # Both workers have written citizens' entries, each followed by the other's standby copy.
        await read_until(settings, REQUEST_STATUS.name, lambda rs: first <= set(latest_statuses(rs)), timeout=60)
        killed = sandbox.supervisor.pid_of("worker-2")
        assert killed is not None
        before = {member.client_id: member.of(CITIZEN_INBOX.name)
                  for member in await owners(settings)}
        [its_partitions] = [partitions for client, partitions in before.items() if client.endswith(f"-{killed}")]
        fresh = resident_on(its_partitions, settings.citizen_key_secret.get_secret_value().encode())
        os.kill(killed, signal.SIGKILL)
        killed_at = time.monotonic()
        await send_submissions(settings, submissions[COUNT // 2:])
        await submit(settings, fresh)  # its citizen's partition was the killed worker's
        await read_until(settings, REQUEST_STATUS.name, lambda rs: fresh["request_id"] in latest_statuses(rs),
                         timeout=60)
        took = time.monotonic() - killed_at
        await wait_until_async(lambda: _one_owner(settings), timeout=30,
                               what="the killed worker has left the group")
        [survivor] = await owners(settings)
        taken_over = copies_taken_over(sandbox.supervisor.log_path("worker"))
        statuses = await read_until(settings, REQUEST_STATUS.name, lambda rs: all(
            getattr(latest_statuses(rs).get(request_id), "state", None) in TERMINAL_STATES
            | {RequestState.READY_FOR_PICKUP} for request_id in ids), timeout=120)
        printed = await read_topic(settings, PRINT_COMPLETED.name, role=ADMIN_ROLE)

    assert took < TAKEOVER_LIMIT, f"the fresh request was recorded {took:.1f}s after the kill"
    # The survivor followed the killed worker's table partitions as their standby: it went on from its copies,
    # replaying none of the records they held.
    assert taken_over, "the survivor replayed the killed worker's partitions from their beginning"
    assert {int(name.rsplit("[", 1)[1].rstrip("]")) for name in taken_over} <= set(its_partitions), taken_over
    assert all(offset >= 0 for offset in taken_over.values()), taken_over
    assert survivor.of(CITIZEN_INBOX.name) == tuple(range(PARTITIONS)), "the survivor owns every partition"
    by_request: dict[str, list[RequestStatus]] = {}
    for record in statuses:
        status = RequestStatus.model_validate_json(record.value)
        by_request.setdefault(status.request_id, []).append(status)
    for request_id in ids:
        ranks = [STATE_RANK[status.state] for status in by_request[request_id]]
        assert ranks == sorted(ranks), f"{request_id} moved backwards: {[s.state for s in by_request[request_id]]}"
    cards = Counter(CardPrinted.model_validate_json(record.value).request_id for record in printed)
    assert {request_id: count for request_id, count in cards.items() if request_id in ids and count > 1} == {}
    assert {request_id for request_id in ids if cards[request_id] == 1} == ids, "one card for every request"


async def _two_owners(settings: Settings) -> bool:
    return len(await owners(settings)) == 2


async def _one_owner(settings: Settings) -> bool:
    return len(await owners(settings)) == 1


def copies_taken_over(log: Path) -> dict[str, int]:
    """The table partitions a worker took over from its standby copies, by its log: changelog[p] -> offset reached."""
    taken: dict[str, int] = {}
    for line in log.read_text().splitlines():
        if line.startswith("{") and "standby copies" in line:
            taken.update(json.loads(line)["partitions"])
    return taken


def resident_on(partitions: tuple[int, ...], secret: bytes) -> dict[str, Any]:
    """A fresh resident whose citizen key falls on one of `partitions` (Kafka's default partitioner)."""
    rng = random.Random()
    while True:
        document = fresh_resident(rng)
        key = citizen_key(document["resident"]["nik"], secret).encode()
        if DefaultPartitioner()(key, list(range(PARTITIONS)), list(range(PARTITIONS))) in partitions:
            return document
