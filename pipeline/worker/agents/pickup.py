"""The pickup step's agents: a printed card waits at the office and is handed over to the right finger.

The pickup desk knows only the request_id, so the approval (with the enrolled finger digests) and the
printed card are re-keyed by request_id onto an internal topic that shares its partitioning with
`ektp.pickup.requested`: one table, keyed by request_id, sees all three.
"""

from __future__ import annotations

from typing import Any

import faust
from pydantic import TypeAdapter

from events.approval import ApprovalDecided
from events.common import utc_now
from events.pickup import CardArrived, PickupExpected, PickupFact, PickupRequested
from events.printing import CardPrinted
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import (
    APPROVAL_DECIDED,
    PICKUP_BY_REQUEST,
    PICKUP_COLLECTED,
    PICKUP_READY,
    PICKUP_REQUESTED,
)
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import encode, position
from pipeline.worker.agents.unreadable import SetAside, readable
from pipeline.worker.wiring import StepTopics, Wiring
from processors.pickup import PickupRecord, card_arrived, expected_pickup, hand_over, ready_announcement, remember

log = get_logger(__name__)
FACT = TypeAdapter[PickupExpected | CardArrived](PickupFact)


def wire_route_to_pickup(wiring: Wiring, topics: StepTopics) -> None:
    """Pickup routing: `route_to_pickup`."""
    by_request = topics.output(PICKUP_BY_REQUEST)
    set_aside = SetAside(wiring.app, topics)

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def route_to_pickup(stream: faust.StreamT[Any]) -> None:
        """Re-key approvals and printed cards by request_id for the pickup desk."""
        async for _event, fact in readable(stream.events(), _pickup_fact, set_aside):
            if fact is not None:
                await by_request.send(key=fact.request_id.encode(), value=encode(fact))


def wire_hand_over(wiring: Wiring, topics: StepTopics) -> None:
    """The pickup desk's step: `hand_over_cards`."""
    ready_topic = topics.output(PICKUP_READY)
    collected_topic = topics.output(PICKUP_COLLECTED)
    set_aside = SetAside(wiring.app, topics)
    request_id_to_pickup = wiring.app.Table(
        "request_id_to_pickup", default=None, partitions=wiring.settings.topic_partitions,
        help="Per request: enrolled finger digests, the card waiting, whether it was handed over",
    )

    async def remember_fact(fact: PickupExpected | CardArrived) -> None:
        record = remember(PickupRecord.from_json(request_id_to_pickup.get(fact.request_id)), fact)
        announcement = ready_announcement(fact.request_id, record, utc_now())
        if announcement is not None:
            record = PickupRecord(**{**record.to_json(), "announced": True})
            await ready_topic.send(key=announcement.citizen_key.encode(), value=encode(announcement))
            log.info("card ready for pickup", request_id=fact.request_id)
        request_id_to_pickup[fact.request_id] = record.to_json()

    async def hand_over_card(request: PickupRequested) -> None:
        bind_message_context(request_id=request.request_id)
        record = PickupRecord.from_json(request_id_to_pickup.get(request.request_id))
        outcome = hand_over(record, request, utc_now())
        if outcome.outcome == "collected":
            request_id_to_pickup[request.request_id] = {**record.to_json(), "collected": True}
        key = outcome.citizen_key or outcome.request_id
        await collected_topic.send(key=key.encode(), value=encode(outcome))
        log.info("pickup", outcome=outcome.outcome, reason_code=outcome.reason_code)
        metrics.PICKUPS.labels(outcome.outcome, outcome.reason_code or "").inc()

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def hand_over_cards(stream: faust.StreamT[Any]) -> None:
        """Announce a card once it is both approved and printed; hand it over to the matching finger."""
        async for _event, message in readable(stream.events(), _desk_message, set_aside):
            if isinstance(message, PickupRequested):
                await hand_over_card(message)
            else:
                await remember_fact(message)


def _pickup_fact(event: Any) -> PickupExpected | CardArrived | None:
    """What the pickup desk must know of an approval or a printed card; None for a decision that prints nothing."""
    if position(event)[0] == APPROVAL_DECIDED.name:
        return expected_pickup(ApprovalDecided.model_validate_json(event.value), utc_now())
    return card_arrived(CardPrinted.model_validate_json(event.value), utc_now())


def _desk_message(event: Any) -> PickupRequested | PickupExpected | CardArrived:
    """A citizen at the desk, or a fact the desk must remember."""
    topic, partition, offset = position(event)
    bind_message_context(topic=topic, partition=partition, offset=offset)
    if topic == PICKUP_REQUESTED.name:
        return PickupRequested.model_validate_json(event.value)
    return FACT.validate_json(event.value)
