"""The pickup desk: a citizen presents a finger for their card on `ektp.pickup.requested.v2`.

The topic is keyed by citizen key, like every fact the pickup step reads about a citizen. The desk knows the
request id (it is on the citizen's receipt) and finds the citizen key in the request's status, where the
pipeline publishes it with no NIK (`ektp status`), or in the card's ready announcement.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from events.pickup import PickupRequested
from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.security import client_options
from pipeline.status.reader import read_status
from pipeline.topology.routes import PICKUP_DESK
from pipeline.topology.topics import PICKUP_REQUESTED

PICKUP_ROLE = PICKUP_DESK.role  # the pickup desk's Kafka principal: it reads the statuses, writes the pickup requests


class UnknownRequest(EktpError):
    """The pipeline has no status of this request: there is no card to collect for it."""


def pickup_message(request: PickupRequested, citizen_key: str) -> tuple[bytes, bytes]:
    """The key and value of a pickup request on its topic."""
    return citizen_key.encode(), request.model_dump_json().encode()


async def request_pickup(settings: Settings, request: PickupRequested) -> str:
    """Present the finger of `request`; the citizen key it was sent under."""
    status = await read_status(settings, request.request_id, role=PICKUP_ROLE)
    if status is None or status.citizen_key is None:
        raise UnknownRequest(f"no request {request.request_id} is known: check the id on the receipt")
    key, value = pickup_message(request, status.citizen_key)
    producer = AIOKafkaProducer(**client_options(settings, PICKUP_ROLE), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(PICKUP_REQUESTED.name, value, key=key)
    finally:
        await producer.stop()
    return status.citizen_key
