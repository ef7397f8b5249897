"""Pickup: the card waits at the office, the citizen presents a finger, the card is handed over or not."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.common import CitizenKey, Digest, Event, RequestId
from events.enrollment import Finger, Fingerprints


class CardReadyForPickup(Event):
    """A printed card waits at the office (`ektp.pickup.ready`, keyed by citizen key)."""

    producer: str = "ektp-pipeline/pickup"
    citizen_key: CitizenKey
    card_serial: str
    office_code: str
    station_id: str


class PickupRequested(BaseModel):
    """A citizen presents a finger at the pickup desk (`ektp.pickup.requested`, keyed by request_id).

    The contract of the pickup desk (docs/architecture.md): exactly these fields.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: RequestId
    finger: Finger
    fingerprint: Digest
    desk_id: str
    requested_at: AwareDatetime


class CardCollected(Event):
    """The card was handed over, or refused with a reason (`ektp.pickup.collected`, keyed by citizen key).

    A refusal for a request the pickup step does not know has no citizen key and is keyed by request_id.
    """

    producer: str = "ektp-pipeline/pickup"
    citizen_key: CitizenKey | None
    outcome: Literal["collected", "refused"]
    reason_code: str | None = Field(
        None, description="Why it was refused: FINGERPRINT_MISMATCH, CARD_NOT_READY, UNKNOWN_REQUEST, ALREADY_COLLECTED"
    )
    reason: str | None = None
    card_serial: str | None = None
    desk_id: str
    finger: Finger


class PickupExpected(Event):
    """Internal: central approved the request; the pickup step keeps the enrolled finger digests."""

    kind: Literal["expected"] = "expected"
    producer: str = "ektp-pipeline/pickup"
    citizen_key: CitizenKey
    office_code: str
    fingerprints: Fingerprints


class CardArrived(Event):
    """Internal: the printed card has reached the office's pickup desk."""

    kind: Literal["arrived"] = "arrived"
    producer: str = "ektp-pipeline/pickup"
    citizen_key: CitizenKey
    card_serial: str
    station_id: str


PickupFact = Annotated[PickupExpected | CardArrived, Field(discriminator="kind")]
