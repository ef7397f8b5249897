"""The worker's automatic replay: once central answers again, the dead-letter stream drains by itself.

Every `dlq_check_interval` seconds the worker updates the dead-letter gauges and, when replay is on,
records wait, the breaker lets calls through and central's /health answers, sends the waiting records of
its own partitions back to the citizen's inbox at `dlq_replay_rate` a second, in chunks, stopping as soon as
the breaker opens again. Which records still wait is the citizen's table's to say (the approval's memory of
their waiting line), and the table's partitions are this worker's: two workers never replay one record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from pipeline.central.breaker import BreakerState, CircuitBreaker
from pipeline.config import Settings
from pipeline.deadletter.replay import send_back
from pipeline.deadletter.view import DeadLetterEntry
from pipeline.kafka.reading import Record, TopicFollower
from pipeline.logs import get_logger
from pipeline.probes import http_ok
from pipeline.topology.acls import WORKER_ROLE
from pipeline.topology.topics import APPROVAL_DEADLETTER, APPROVAL_PARKED, CITIZEN_INBOX
from pipeline.worker import metrics
from pipeline.worker.citizens import CitizenTable
from pipeline.worker.wiring import RoutingError, StepTopics, Wiring
from processors.dead_letter import due_for_replay

log = get_logger(__name__)
CHUNK = 100


class DeadLetters(TopicFollower):
    """The latest dead-letter and parked record of each request, as the two streams hold them."""

    topics = (APPROVAL_DEADLETTER.name, APPROVAL_PARKED.name)

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, WORKER_ROLE)
        self.dead_lettered: dict[str, DeadLetterEntry] = {}
        self.parked: dict[str, DeadLetterEntry] = {}

    def take(self, record: Record) -> None:
        entry = DeadLetterEntry.from_record(record)
        if entry is not None:
            (self.dead_lettered if record.topic == APPROVAL_DEADLETTER.name else self.parked)[entry.request_id] = entry


class AutoReplay:
    """Drains this worker's share of the dead-letter stream when the link to central is healthy again."""

    def __init__(self, settings: Settings, breaker: CircuitBreaker, citizens: CitizenTable,
                 owned_partitions: Callable[[], set[int]]) -> None:
        self.settings = settings
        self.breaker = breaker
        self.citizens = citizens
        self.owned_partitions = owned_partitions
        self.view = DeadLetters(settings)
        self._sent: dict[str, int] = {}  # request_id -> the dead-letter offset already sent back

    async def run(self) -> None:
        """Loop until cancelled (the worker stopping)."""
        await self.view.start()
        try:
            while True:
                await asyncio.sleep(self.settings.dlq_check_interval)
                self._update_gauges()
                if self.settings.dlq_auto_replay:
                    await self.replay_round()
        finally:
            await self.view.stop()

    def pending(self) -> list[DeadLetterEntry]:
        """Records of this worker's partitions that still wait for central, oldest first per partition."""
        owned = self.owned_partitions()
        waiting = [entry for entry in self.view.dead_lettered.values()
                   if entry.partition in owned and self._waits(entry)]
        return sorted(waiting, key=lambda entry: (entry.partition, entry.offset))

    def parked(self) -> list[DeadLetterEntry]:
        """Records of this worker's partitions parked and still PARKED."""
        owned = self.owned_partitions()
        return [entry for entry in self.view.parked.values()
                if entry.partition in owned and self._state_of(entry) == "PARKED"]

    def _waits(self, entry: DeadLetterEntry) -> bool:
        citizen = self.citizens.get_json(entry.citizen_key) or {}
        return entry.request_id in (citizen.get("approvals") or {}).get("waiting", ())

    def _state_of(self, entry: DeadLetterEntry) -> str | None:
        citizen = self.citizens.get_json(entry.citizen_key) or {}
        status = (citizen.get("statuses") or {}).get(entry.request_id) or {}
        state: str | None = status.get("state")
        return state

    def due(self) -> list[DeadLetterEntry]:
        """Waiting records of this worker's partitions not yet sent back since they last failed."""
        return due_for_replay(self.pending(), owned=self.owned_partitions(), sent=self._sent)

    def link_may_be_up(self) -> bool:
        return self.breaker.state != BreakerState.OPEN or self.breaker.retry_in() == 0

    async def replay_round(self) -> int:
        """Send back what is due while the link holds; returns how many were sent."""
        due = self.due()
        if not due or not self.link_may_be_up():
            return 0
        if not await http_ok(self.settings.central_url.rstrip("/") + "/health"):
            return 0
        log.info("central answers again: replaying the dead-letter stream", waiting=len(due))
        sent = 0
        for start in range(0, len(due), CHUNK):
            if not self.link_may_be_up():  # the breaker opened again while this round went on
                log.warning("the link failed again; replay paused", sent=sent, left=len(due) - sent)
                break
            chunk = due[start:start + CHUNK]
            sent += await send_back(self.settings, chunk, role=WORKER_ROLE, rate=self.settings.dlq_replay_rate,
                                    on_sent=self._mark)
        metrics.DLQ_REPLAYED.inc(sent)
        return sent

    def _mark(self, entry: DeadLetterEntry) -> None:
        self._sent[entry.request_id] = entry.offset

    def _update_gauges(self) -> None:
        """This worker's share: Prometheus sums the workers' gauges (the oldest is a max)."""
        pending = self.pending()
        metrics.DLQ_PENDING.set(len(pending))
        metrics.DLQ_PARKED.set(len(self.parked()))
        oldest = min((entry.first_failure_at for entry in pending), default=None)
        metrics.DLQ_OLDEST.set((dt.datetime.now(dt.UTC) - oldest).total_seconds() if oldest else 0)


def wire_auto_replay(wiring: Wiring, topics: StepTopics) -> None:
    """The dead-letter replay: `replay_dead_letters`, a task of the worker beside its agents."""
    replay = AutoReplay(wiring.settings, wiring.central.breaker, wiring.citizens,
                        lambda: wiring.owned_partitions(CITIZEN_INBOX))
    if set(replay.view.topics) != {spec.name for spec in topics.step.reads}:
        raise RoutingError(f"{topics.step.name} follows {replay.view.topics}, not what the routing table says")
    topics.checked(CITIZEN_INBOX)  # `send_back` writes it with a producer of its own
    wiring.app.task(replay.run)
