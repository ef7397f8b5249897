"""Pickup: the card waits at the office, the citizen presents a finger, the card is handed over or not."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from events.common import CitizenKey, Digest, Event, RequestId
from events.enrollment import Finger


class CardReadyForPickup(Event):
    """A printed card waits at the office (`ektp.pickup.ready`, keyed by citizen key)."""

    producer: str = "ektp-pipeline/pickup"
    citizen_key: CitizenKey
    card_serial: str
    office_code: str
    station_id: str


class PickupRequested(BaseModel):
    """A citizen presents a finger at the pickup desk (`ektp.pickup.requested`, keyed by request_id).

    The contract of the pickup desk (DESIGN.md): exactly these fields.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: RequestId
    finger: Finger
    fingerprint: Digest
    desk_id: str
    requested_at: AwareDatetime


class CardCollected(Event):
    """The card was handed over, or refused with a reason (`ektp.pickup.collected`, keyed by citizen key)."""

    producer: str = "ektp-pipeline/pickup"
    citizen_key: CitizenKey
    outcome: Literal["collected", "refused"]
    reason: str | None = None
    card_serial: str | None = None
    desk_id: str
    finger: Finger
