"""What the worker remembers of one citizen, and what each fact about their requests does to it.

One table entry per citizen (`citizen_key_to_citizen`), keyed by the citizen key like every topic the worker's
stateful steps read, so that a partition and all the state it needs move together from worker to worker. It
holds the intake's memory (`CitizenRequests`: their request ids, the unfinished one), the approval's
(`CitizenApprovals`: records waiting in the dead-letter stream, requests decided), the status of each recent
request, and for each card approved and not yet collected what the pickup desk needs (`PickupRecord`).

Every change of a request's status goes through `fold`, one owner per citizen at a time: a status never moves
backwards, whichever step's fact comes late or twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from events.pickup import CardArrived, CardCollected, CardReadyForPickup, PickupExpected, PickupRequested
from events.status import RequestState, RequestStatus
from processors.approval import CitizenApprovals
from processors.intake import KNOWN_REQUESTS_KEPT, CitizenRequests
from processors.pickup import PickupRecord, hand_over, ready_announcement, remember
from processors.status import StatusUpdate, advance_status, explain, update_from_collected, update_from_ready


@dataclass(frozen=True)
class Citizen:
    """One citizen's entry: the intake's and the approval's memories, recent statuses, cards to hand over."""

    requests: CitizenRequests = field(default_factory=CitizenRequests)
    approvals: CitizenApprovals = field(default_factory=CitizenApprovals)
    statuses: Mapping[str, RequestStatus] = field(default_factory=dict)
    pickups: Mapping[str, PickupRecord] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Citizen:
        if not data:
            return cls()
        return cls(
            requests=CitizenRequests.from_json(data.get("requests")),
            approvals=CitizenApprovals.from_json(data.get("approvals")),
            statuses={request_id: _loaded(status) for request_id, status in (data.get("statuses") or {}).items()},
            pickups={request_id: PickupRecord.from_json(record)
                     for request_id, record in (data.get("pickups") or {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        kept = self._kept()
        return {
            "requests": self.requests.to_json(),
            "approvals": self.approvals.to_json(),
            "statuses": {request_id: _stored(status)
                         for request_id, status in self.statuses.items() if request_id in kept},
            "pickups": {request_id: record.to_json() for request_id, record in self.pickups.items()
                        if not record.collected or request_id in self.requests.request_ids},
        }

    def status_of(self, request_id: str | None) -> RequestStatus | None:
        return self.statuses.get(request_id) if request_id is not None else None

    def open_request_finished(self) -> bool:
        """True when the citizen's unfinished request (if any) has reached a terminal state."""
        status = self.status_of(self.requests.open_request_id)
        return status is not None and status.terminal

    def _kept(self) -> set[str]:
        """The requests whose status stays in the entry: those the intake or the approval remembers, cards
        waiting, and the most recent of the rest (requests refused before they were recorded).

        A status kept is what keeps a late or repeated fact from moving it backwards; a person asks for a
        handful of cards in a life, so the entry stays small.
        """
        needed = set(self.requests.request_ids) | set(self.approvals.waiting) | set(self.pickups)
        others = sorted((status for request_id, status in self.statuses.items() if request_id not in needed),
                        key=lambda status: status.updated_at)
        return needed | {status.request_id for status in others[-KNOWN_REQUESTS_KEPT:]}


# What a status says for the citizen follows from its state: the entry does not keep it, so its changelog
# records stay small.
_DERIVED = {"explanation_id", "explanation_en"}


def _stored(status: RequestStatus) -> dict[str, Any]:
    return status.model_dump(mode="json", exclude=_DERIVED)


def _loaded(data: dict[str, Any]) -> RequestStatus:
    explanation_id, explanation_en = explain(RequestState(data["state"]))
    return RequestStatus.model_validate({**data, "explanation_id": explanation_id, "explanation_en": explanation_en})


@dataclass
class Changed:
    """The statuses a step changed (the last of each request) and the announcements it made, to publish."""

    statuses: dict[str, RequestStatus] = field(default_factory=dict)
    ready: list[CardReadyForPickup] = field(default_factory=list)
    collected: list[CardCollected] = field(default_factory=list)


def fold(citizen: Citizen, update: StatusUpdate, changed: Changed) -> Citizen:
    """`citizen` after `update`; a status that moves is noted in `changed`."""
    status = advance_status(citizen.status_of(update.request_id), update)
    if status is None:
        return citizen
    changed.statuses[update.request_id] = status
    return replace(citizen, statuses={**citizen.statuses, update.request_id: status})


def fold_all(citizen: Citizen, updates: Iterable[StatusUpdate], changed: Changed) -> Citizen:
    for update in updates:
        citizen = fold(citizen, update, changed)
    return citizen


def learn_of_card(
    citizen: Citizen, fact: PickupExpected | CardArrived, now: dt.datetime, changed: Changed
) -> Citizen:
    """Remember what the pickup desk needs; once both the approval and the card are known, announce it once.

    Either may come first: the approval comes from the approval step, the card from a printing station.
    """
    record = remember(citizen.pickups.get(fact.request_id, PickupRecord()), fact)
    announcement = ready_announcement(fact.request_id, record, now)
    if announcement is not None:
        record = replace(record, announced=True)
        changed.ready.append(announcement)
        citizen = fold(citizen, update_from_ready(announcement), changed)
    return replace(citizen, pickups={**citizen.pickups, fact.request_id: record})


def present_finger(citizen: Citizen, request: PickupRequested, now: dt.datetime, changed: Changed) -> Citizen:
    """The pickup desk presents a finger: the card is handed over only to the enrolled one.

    Once the card is handed over, the enrolled fingers are forgotten: they are kept no longer than needed.
    """
    record = citizen.pickups.get(request.request_id, PickupRecord())
    outcome = hand_over(record, request, now)
    changed.collected.append(outcome)
    update = update_from_collected(outcome)
    if update is not None:
        citizen = fold(citizen, update, changed)
    if outcome.outcome == "collected":
        done = replace(record, collected=True, fingerprints=None)
        citizen = replace(citizen, pickups={**citizen.pickups, request.request_id: done})
    return citizen
