"""The worker's automatic replay: once central answers again, the dead-letter stream drains by itself.

Every `dlq_check_interval` seconds the worker updates the dead-letter gauges and, when replay is on,
records wait, the breaker lets calls through and central's /health answers, sends the waiting records
back at `dlq_replay_rate` a second, in chunks, stopping as soon as the breaker opens again. Each worker
replays only the partitions it owns, so two workers never replay the same record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from pipeline.central.breaker import BreakerState, CircuitBreaker
from pipeline.config import Settings
from pipeline.deadletter.replay import send_back
from pipeline.deadletter.view import DeadLetterEntry, DeadLetterView
from pipeline.logs import get_logger
from pipeline.probes import http_ok
from pipeline.topology.topics import ENROLLMENT_RECORDED
from pipeline.worker import metrics
from pipeline.worker.wiring import RoutingError, StepTopics, Wiring
from processors.dead_letter import due_for_replay

log = get_logger(__name__)
CHUNK = 100


class AutoReplay:
    """Drains the dead-letter stream when the link to central is healthy again."""

    def __init__(self, settings: Settings, breaker: CircuitBreaker, owned_partitions: Callable[[], set[int]]) -> None:
        self.settings = settings
        self.breaker = breaker
        self.owned_partitions = owned_partitions
        self.view = DeadLetterView(settings)
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

    def due(self) -> list[DeadLetterEntry]:
        """Waiting records of this worker's partitions not yet sent back since they last failed."""
        return due_for_replay(self.view.pending(), owned=self.owned_partitions(), sent=self._sent)

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
            sent += await send_back(self.settings, chunk, rate=self.settings.dlq_replay_rate, on_sent=self._mark)
        metrics.DLQ_REPLAYED.inc(sent)
        return sent

    def _mark(self, entry: DeadLetterEntry) -> None:
        self._sent[entry.request_id] = entry.offset

    def _update_gauges(self) -> None:
        stats = self.view.stats()
        metrics.DLQ_PENDING.set(stats.pending)
        metrics.DLQ_PARKED.set(stats.parked)
        oldest = stats.oldest_waiting_at
        metrics.DLQ_OLDEST.set((dt.datetime.now(dt.UTC) - oldest).total_seconds() if oldest else 0)


def wire_auto_replay(wiring: Wiring, topics: StepTopics) -> None:
    """The dead-letter replay: `replay_dead_letters`, a task of the worker beside its agents."""
    replay = AutoReplay(wiring.settings, wiring.central.breaker,
                        lambda: wiring.owned_partitions(ENROLLMENT_RECORDED))
    if set(replay.view.topics) != {spec.name for spec in topics.step.reads}:
        raise RoutingError(f"{topics.step.name} follows {replay.view.topics}, not what the routing table says")
    topics.checked(ENROLLMENT_RECORDED)  # `send_back` writes it with a producer of its own
    wiring.app.task(replay.run)
