"""One worker per pipeline: a second worker in the same consumer group refuses to run.

Why: the status table is partitioned by request_id (`agents/status.create_status_table`, `use_partitioner`),
while the events that move a status arrive keyed by citizen, station or request, so they reach whichever
worker holds their own partition. One worker holds the whole table. Two would each hold a part: a status
could move backwards, a late event could publish a state below the one the citizen was shown, and the
intake's open-request rule, which reads that table, could let a citizen's second request through. Until
the tracker re-keys its events by request_id, the pipeline runs one worker, and this module keeps it so.

Two checks, because workers can start one after another or at the same moment:
- before it starts (`wait_until_sole_worker`): a starting worker waits while its group has members, since a
  worker that was killed stays a member until its session ends; members still there after the wait are
  another worker, and this one refuses to start;
- after every assignment (`yield_to_earlier_workers`): if the group holds a worker that started earlier,
  this one stops. Each worker's client id carries its start time (`worker_client_id`), so of two that
  started together the same one yields on both sides.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.errors import KafkaError

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.admin import admin_client
from pipeline.logs import get_logger

log = get_logger(__name__)

CLIENT_PREFIX = "ektp-worker-"
POLL_SECONDS = 0.5
ASSIGNED_RETRIES = 4  # looks after an assignment, POLL_SECONDS apart, when the group cannot be described


class AnotherWorkerRunning(EktpError):
    """The worker's consumer group already has another worker in it."""


@dataclass(frozen=True)
class Member:
    """A member of a consumer group, as the group coordinator describes it."""

    member_id: str
    client_id: str
    client_host: str

    def describe(self) -> str:
        return f"{self.client_id} at {self.client_host.lstrip('/')}"


def worker_client_id(started: float | None = None, pid: int | None = None) -> str:
    """`ektp-worker-<start time in ms, zero-padded>-<pid>`: sorts by when the worker started."""
    started = time.time() if started is None else started
    return f"{CLIENT_PREFIX}{int(started * 1000):015d}-{os.getpid() if pid is None else pid}"


def _start_order(client_id: str) -> tuple[int, str]:
    """When a member started, for ordering; a member that is not one of ours counts as the earliest."""
    stamp, _, _pid = client_id.removeprefix(CLIENT_PREFIX).partition("-")
    if not client_id.startswith(CLIENT_PREFIX) or not stamp.isdigit():
        return (-1, client_id)
    return (int(stamp), client_id)


def earlier_workers(ours: str, members: Sequence[Member]) -> list[Member]:
    """The members this worker must yield to: every other one that started before it or is not ours to order."""
    mine = _start_order(ours)
    return [member for member in members if member.client_id != ours and _start_order(member.client_id) < mine]


async def group_members(settings: Settings, group: str) -> list[Member] | None:
    """The members of `group` now; None when the broker cannot say yet (no group coordinator)."""
    try:
        async with admin_client(settings.bootstrap_servers) as admin:
            [response] = await admin.describe_consumer_groups([group])
    except (KafkaError, OSError, TimeoutError) as error:
        log.debug("cannot describe the worker's group yet", group=group, error=repr(error))
        return None
    described: dict[str, Any] = response.to_object()
    return [
        Member(member["member_id"], member["client_id"], member["client_host"])
        for found in described["groups"] if found["group"] == group
        for member in found["members"]
    ]


async def wait_until_sole_worker(settings: Settings, group: str, *, patience: float) -> None:
    """Return once `group` has no members; raise `AnotherWorkerRunning` if some are still there after `patience` s.

    A broker that cannot describe the group (no coordinator yet) does not keep the worker from starting.
    """
    deadline = time.monotonic() + patience
    said = False
    while True:
        members = await group_members(settings, group)
        if members == []:
            return
        if time.monotonic() >= deadline:
            if members is None:
                # The broker cannot say (it is starting, or its coordinator moves): start, and let the check
                # after the assignment settle it, rather than leave the pipeline without a worker.
                log.warning("cannot tell whether another worker runs in the group; starting", group=group)
                return
            raise AnotherWorkerRunning(
                f"another worker runs in group {group} ({', '.join(m.describe() for m in members)}); the pipeline "
                "runs one worker (see pipeline/worker/sole_worker.py): stop that one first"
            )
        if members and not said:
            log.warning("the worker's group has members: waiting for them to leave or for their session to end",
                        group=group, members=[m.describe() for m in members], patience_s=patience)
            said = True
        await asyncio.sleep(POLL_SECONDS)


def yield_to_earlier_workers(app: faust.App, settings: Settings, ours: str, stop: Callable[[], None]) -> None:
    """After every assignment, `stop()` this worker if its group holds a worker that started before it."""
    group = app.conf.id

    async def check(_sender: Any, /, *_assigned: Any, signal: Any, **_kwargs: Any) -> None:
        members = await group_members(settings, group)
        for _retry in range(ASSIGNED_RETRIES):  # the coordinator may be busy just after the rebalance
            if members is not None:
                break
            await asyncio.sleep(POLL_SECONDS)
            members = await group_members(settings, group)
        if members is None:
            log.warning("cannot tell whether an earlier worker runs in the group; going on", group=group)
            return
        earlier = earlier_workers(ours, members)
        if earlier:
            log.critical("another worker started before this one in the same group: this one stops",
                         group=group, this_worker=ours, earlier=[member.describe() for member in earlier])
            stop()

    app.on_partitions_assigned.connect(check)
