"""Authorization on the running system: a program cannot forge another role's records, and the pipeline goes on.

A station that writes a pickup or a central decision, or a desk that writes a printed card, would let a card be
handed over, approved or printed that never was. The broker refuses each forgery (the ACLs of
`pipeline.topology.acls`), while the same request, sent honestly, is carried to READY_FOR_PICKUP.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from events.approval import ApprovalDecided, CentralDecision
from events.common import WIB, Event
from events.enrollment import Finger
from events.identity import citizen_key
from events.pickup import CardCollected
from events.printing import CardPrinted
from events.status import RequestState
from pipeline.config import Settings
from pipeline.desk.enroll import DESK_ROLE, send_submissions
from pipeline.kafka.reading import Record, read_topic
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.synthetic import generate_submissions
from pipeline.station.config import STATION_ROLE
from pipeline.station.inventory import restock
from pipeline.topology.topics import APPROVAL_DECIDED, PICKUP_COLLECTED, PRINT_COMPLETED, REQUEST_STATUS, TopicSpec
from tests.e2e.conftest import STATION
from tests.support.submissions import recorded_enrollment
from tests.support.topics import Records, latest_statuses, read_until

pytestmark = pytest.mark.e2e

FORGED = "FORGED"


async def forge(settings: Settings, role: str, topic: TopicSpec, event: Event, key: str) -> None:
    """Write `event` to `topic` as a program of `role` would, with its own idempotent producer: refused."""
    producer = AIOKafkaProducer(**client_options(settings, role), acks="all", enable_idempotence=True,
                                request_timeout_ms=10_000)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(topic.name, event.model_dump_json().encode(), key=key.encode())
    finally:
        await producer.stop()


def of_request(records: list[Record], request_id: str) -> list[Record]:
    return [record for record in records if record.value is not None and request_id.encode() in record.value]


async def test_a_station_or_desk_cannot_forge_another_roles_records_and_the_pipeline_goes_on(
    system: Settings,
) -> None:
    await restock(system, STATION, 5)
    [submission] = generate_submissions(1, seed=random.randrange(2**31), today=dt.datetime.now(WIB).date())
    document = submission.document()
    request_id = submission.request_id or ""
    key = citizen_key(document["resident"]["nik"], system.citizen_key_secret.get_secret_value().encode())
    now = dt.datetime.now(dt.UTC)
    # The forgeries name the very request that is then sent honestly: a card handed over before it was
    # printed, a decision central never signed, a card no station printed.
    collected = CardCollected(request_id=request_id, producer=FORGED, citizen_key=key, outcome="collected",
                              card_serial=FORGED, desk_id=FORGED, finger=Finger.RIGHT_THUMB)
    decided = ApprovalDecided(request_id=request_id, producer=FORGED, citizen_key=key,
                              decision=CentralDecision.PRINT_READY_RECORD, reason=FORGED, decided_at=now,
                              token=FORGED, record=recorded_enrollment(document, at=now, citizen_key=key))
    printed = CardPrinted(request_id=request_id, producer=FORGED, citizen_key=key, job_id=FORGED,
                          card_serial=FORGED, blank_serial=FORGED, station_id=STATION, printed_at=now)
    forgeries: list[tuple[str, TopicSpec, Event]] = [
        (STATION_ROLE, PICKUP_COLLECTED, collected), (STATION_ROLE, APPROVAL_DECIDED, decided),
        (DESK_ROLE, PRINT_COMPLETED, printed),
    ]
    for role, topic, event in forgeries:
        await forge(system, role, topic, event, key)

    await send_submissions(system, [submission])

    def ready(records: Records) -> bool:
        status = latest_statuses(records).get(request_id)
        return status is not None and status.state == RequestState.READY_FOR_PICKUP

    await read_until(system, REQUEST_STATUS.name, ready, timeout=120)
    on_topic = {topic.name: await read_topic(system, topic.name, role=ADMIN_ROLE) for _role, topic, _event in forgeries}
    for _role, topic, event in forgeries:
        forged_id = str(event.event_id).encode()
        assert not [r for r in on_topic[topic.name] if r.value is not None and forged_id in r.value], topic.name
    # What is there is the pipeline's own: central's one decision, the station's one card, no pickup yet.
    [decision] = [ApprovalDecided.model_validate_json(record.value)
                  for record in of_request(on_topic[APPROVAL_DECIDED.name], request_id)]
    assert FORGED not in (decision.producer, decision.token)
    [card] = [CardPrinted.model_validate_json(record.value)
              for record in of_request(on_topic[PRINT_COMPLETED.name], request_id)]
    assert FORGED not in (card.producer, card.card_serial, card.job_id)
    assert of_request(on_topic[PICKUP_COLLECTED.name], request_id) == []
