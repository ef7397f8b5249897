"""The citizen's cards: printed cards announced at the office, and handed over to the enrolled finger.

One agent, `follow_cards`, reads what the printing stations write (`ektp.print.completed`, and their notes of
a state such as WAITING_FOR_BLANKS on `ektp.internal.status-notes`) and what the pickup desk writes
(`ektp.pickup.requested.v2`), all keyed by citizen key. Thin: the rules are `processors/citizen.py` and
`processors/pickup.py`. It changes a citizen's entry under that citizen's lock, so the recording and
approval step, which writes the same entry, never loses its change or this one.
"""

from __future__ import annotations

from typing import Any

import faust
from pydantic import BaseModel

from events.common import utc_now
from events.pickup import PickupRequested
from events.printing import CardPrinted
from events.status import StatusNoted
from pipeline.logs import get_logger
from pipeline.topology.topics import PICKUP_COLLECTED, PICKUP_READY, PRINT_COMPLETED, REQUEST_STATUS, STATUS_NOTES
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import encode, position
from pipeline.worker.agents.unreadable import SetAside
from pipeline.worker.citizens import CitizenTable, publish
from pipeline.worker.faust_fixes import end_batches_when_stopping, leave_uncommitted
from pipeline.worker.wiring import StepTopics, Wiring
from processors.citizen import Changed, Citizen, fold, learn_of_card, present_finger
from processors.pickup import card_arrived
from processors.status import update_from_card_printed, update_from_noted

log = get_logger(__name__)

CardFact = CardPrinted | PickupRequested | StatusNoted
MODELS: dict[str, type[CardFact]] = {
    PRINT_COMPLETED.name: CardPrinted, STATUS_NOTES.name: StatusNoted,
}
BATCH_SIZE = 500
BATCH_WITHIN = 0.05  # seconds a batch waits to fill


class FollowCards:
    """Printed cards, station notes and pickups, batch by batch, folded into the citizens' entries."""

    def __init__(self, wiring: Wiring, topics: StepTopics, citizens: CitizenTable) -> None:
        self.app = wiring.app
        self.citizens = citizens
        self.set_aside = SetAside(wiring.app, topics)
        self.ready = topics.output(PICKUP_READY)
        self.collected = topics.output(PICKUP_COLLECTED)
        self.statuses = topics.output(REQUEST_STATUS)

    async def handle(self, events: list[Any]) -> None:
        """One batch. Never raises: `take_events` acks the whole batch when its body ends, however it ends."""
        since = self.citizens.generation
        facts: list[tuple[Any, CardFact]] = []
        for event in events:
            try:
                facts.append((event, self._decode(event)))
            except ValueError as error:
                await self.set_aside(event, error)
        if not facts:
            return
        keys = {event.key.decode(): event for event, _fact in facts}
        async with self.citizens.writing(since, events) as allowed, self.citizens.held(keys):
            if not allowed:
                log.info("a rebalance took the batch's partitions: their next owner reads it again")
                leave_uncommitted(events)
                return
            changed, now = Changed(), utc_now()
            entries: dict[str, Citizen] = {key: self.citizens.get(key) for key in keys}
            for event, fact in facts:
                key = event.key.decode()
                entries[key] = self._take(entries[key], fact, now, changed)
            for outcome in changed.collected:
                await self.collected.send(key=(outcome.citizen_key or outcome.request_id).encode(),
                                          value=encode(outcome))
                metrics.PICKUPS.labels(outcome.outcome, outcome.reason_code or "").inc()
                if outcome.outcome != "collected":
                    log.info("pickup refused", request_id=outcome.request_id, reason_code=outcome.reason_code)
            await publish(changed, ready=self.ready, statuses=self.statuses)
            await self.app.producer.flush()
            for key, event in keys.items():
                await self.citizens.put(key, entries[key], event)

    @staticmethod
    def _decode(event: Any) -> CardFact:
        if event.key is None:
            raise ValueError("no key: every fact about a card is keyed by citizen key")
        model: type[BaseModel] = MODELS.get(position(event)[0], PickupRequested)
        fact: CardFact = model.model_validate_json(event.value)  # type: ignore[assignment]
        return fact

    @staticmethod
    def _take(citizen: Citizen, fact: CardFact, now: Any, changed: Changed) -> Citizen:
        if isinstance(fact, CardPrinted):
            citizen = fold(citizen, update_from_card_printed(fact), changed)
            return learn_of_card(citizen, card_arrived(fact, now), now, changed)
        if isinstance(fact, PickupRequested):
            return present_finger(citizen, fact, now, changed)
        return fold(citizen, update_from_noted(fact), changed)


def wire_follow_cards(wiring: Wiring, topics: StepTopics) -> None:
    """Cards and pickup: `follow_cards`."""
    step = FollowCards(wiring, topics, wiring.citizens)

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def follow_cards(stream: faust.StreamT[Any]) -> None:
        """Announce each printed card once it is approved too; hand it over to the enrolled finger."""
        # The stream faust passes is a Stream, which has take_events; its interface StreamT does not say so.
        batches = stream.take_events(BATCH_SIZE, within=BATCH_WITHIN)  # type: ignore[attr-defined]
        async for events in batches:
            await step.handle(events)

    end_batches_when_stopping(follow_cards)
