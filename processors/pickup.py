"""Pickup: a printed card waits at the office; it is handed over only to the matching fingerprint."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, replace
from typing import Any

from events.approval import ApprovalDecided, CentralDecision
from events.enrollment import Fingerprints
from events.pickup import CardArrived, CardCollected, CardReadyForPickup, PickupExpected, PickupRequested
from events.printing import CardPrinted


def expected_pickup(decision: ApprovalDecided, now: dt.datetime) -> PickupExpected | None:
    """What the pickup desk must remember of a print-ready request: whose card, which fingers."""
    if decision.decision != CentralDecision.PRINT_READY_RECORD:
        return None
    return PickupExpected(
        request_id=decision.request_id, occurred_at=now, citizen_key=decision.citizen_key,
        office_code=decision.record.office_code, fingerprints=decision.record.submission.biometrics.fingerprints,
    )


def card_arrived(printed: CardPrinted, now: dt.datetime) -> CardArrived:
    return CardArrived(
        request_id=printed.request_id, occurred_at=now, citizen_key=printed.citizen_key,
        card_serial=printed.card_serial, station_id=printed.station_id,
    )


@dataclass(frozen=True)
class PickupRecord:
    """The pickup step's memory of one request."""

    citizen_key: str | None = None
    office_code: str | None = None
    fingerprints: dict[str, str] | None = None
    card_serial: str | None = None
    station_id: str | None = None
    announced: bool = False
    collected: bool = False

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> PickupRecord:
        return cls(**data) if data else cls()


def remember(record: PickupRecord, fact: PickupExpected | CardArrived) -> PickupRecord:
    """Fold one fact into the record (either may come first: they travel on different topics)."""
    if isinstance(fact, PickupExpected):
        return replace(record, citizen_key=fact.citizen_key, office_code=fact.office_code,
                       fingerprints=fact.fingerprints.model_dump())
    return replace(record, citizen_key=fact.citizen_key, card_serial=fact.card_serial, station_id=fact.station_id)


def ready_announcement(request_id: str, record: PickupRecord, now: dt.datetime) -> CardReadyForPickup | None:
    """Announce the card once both the approval and the card are known, and only once."""
    if record.announced or record.fingerprints is None:
        return None
    if record.card_serial is None or record.citizen_key is None or record.office_code is None:
        return None
    if record.station_id is None:
        return None
    return CardReadyForPickup(
        request_id=request_id, occurred_at=now, citizen_key=record.citizen_key, card_serial=record.card_serial,
        office_code=record.office_code, station_id=record.station_id,
    )


def hand_over(record: PickupRecord, request: PickupRequested, now: dt.datetime) -> CardCollected:
    """Hand the card over only if the presented finger's digest equals the enrolled one."""
    def refused(code: str, reason: str) -> CardCollected:
        return CardCollected(
            request_id=request.request_id, occurred_at=now, citizen_key=record.citizen_key, outcome="refused",
            reason_code=code, reason=reason, card_serial=record.card_serial, desk_id=request.desk_id,
            finger=request.finger,
        )

    if record.collected:
        return refused("ALREADY_COLLECTED", "the card was already handed over")
    if record.citizen_key is None or record.fingerprints is None:
        return refused("UNKNOWN_REQUEST", "no approved request with this id")
    if not record.announced:
        return refused("CARD_NOT_READY", "the card has not reached the office yet")
    enrolled = Fingerprints.model_validate(record.fingerprints).digest_of(request.finger)
    if not hmac.compare_digest(enrolled, request.fingerprint):  # in constant time: it guards a card
        return refused("FINGERPRINT_MISMATCH", f"the {request.finger.value.replace('_', ' ')} does not match")
    return CardCollected(
        request_id=request.request_id, occurred_at=now, citizen_key=record.citizen_key, outcome="collected",
        card_serial=record.card_serial, desk_id=request.desk_id, finger=request.finger,
    )
