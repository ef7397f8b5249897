"""The approval step's rules: what central is sent, in which rounds, and what becomes of each answer.

A batch of recorded enrollments is asked of central in rounds that hold at most one record per citizen, in
order (`approval_rounds`), so that a citizen's second record is routed only once the first's outcome is
known. Each record's outcome and the citizen's memory after it are `settle`'s to decide: central's
decision, a wait in the dead-letter stream, a park after too many tries, or nothing to do for a record
central already decided (`processors/dead_letter.py` holds the order rules it applies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from events.approval import ApprovalDecided, CentralDecision, FailureReason
from events.enrollment import EnrollmentRecorded
from events.status import RequestState, StatusNoted
from processors.dead_letter import Route, route_for, should_park, waiting_after_decision, waiting_after_failure

# Request ids of a citizen remembered as decided: a person asks for a handful of cards in a life.
DECIDED_KEPT = 20


def enrollment_for_central(recorded: EnrollmentRecorded) -> dict[str, Any]:
    """The body of `POST /v1/enrollments`: the submission's shape, plus the citizen key central signs."""
    body: dict[str, Any] = recorded.submission.model_dump(mode="json")
    body["citizen_key"] = recorded.citizen_key
    return body


def sent_for_enrollment(recorded: EnrollmentRecorded, now: dt.datetime) -> StatusNoted:
    """The note that the record went to central (SENT_FOR_ENROLLMENT)."""
    return StatusNoted(
        request_id=recorded.request_id, occurred_at=now, producer="ektp-pipeline/approval",
        citizen_key=recorded.citizen_key, state=RequestState.SENT_FOR_ENROLLMENT, office_code=recorded.office_code,
    )


def decided(
    recorded: EnrollmentRecorded, *, decision: CentralDecision, reason: str, decided_at: dt.datetime, token: str,
    now: dt.datetime,
) -> ApprovalDecided:
    """Central's answer as the event of `ektp.approval.decided`."""
    return ApprovalDecided(
        request_id=recorded.request_id, occurred_at=now, citizen_key=recorded.citizen_key, decision=decision,
        reason=reason, decided_at=decided_at, token=token, record=recorded,
    )


def refused_by_central(recorded: EnrollmentRecorded, status: int, code: str, detail: str,
                       now: dt.datetime) -> ApprovalDecided:
    """A permanent refusal (4xx) ends the request like an enrollment failure: the citizen records again.

    It carries no token, so nothing downstream can print from it.
    """
    return decided(
        recorded, decision=CentralDecision.ENROLL_FAILURE_AT_CENTRAL,
        reason=f"central refused the record ({status} {code}): {detail}"[:500], decided_at=now, token="", now=now,
    )


# -- outcomes ---------------------------------------------------------------------------------------------


class DivertedBehindEarlierRequest(Exception):
    """The citizen has an earlier record waiting for central: this one waits behind it."""


@dataclass(frozen=True)
class Failed:
    """Not decided now: to the dead-letter stream (or parked), with why."""

    error: BaseException
    reason: FailureReason
    at: dt.datetime
    # An open breaker or a diversion never reached central: no try of the record's own.
    counts_as_attempt: bool = True


@dataclass(frozen=True)
class Skipped:
    """Central already decided this request (a replay or a redelivery): nothing to publish."""


Answer = ApprovalDecided | Failed
Outcome = ApprovalDecided | Failed | Skipped


# -- the per-citizen memory ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenApprovals:
    """The approval step's memory of one citizen, in their entry of the worker's table.

    `waiting`: their request ids in the dead-letter stream, oldest first (the order rules). `decided`: the
    latest request ids central decided; a record of one of them, read again, is skipped.
    """

    waiting: tuple[str, ...] = ()
    decided: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CitizenApprovals:
        if not data:
            return cls()
        return cls(waiting=tuple(data.get("waiting", ())), decided=tuple(data.get("decided", ())))

    def to_json(self) -> dict[str, Any]:
        return {"waiting": list(self.waiting), "decided": list(self.decided)}

    def route(self, request_id: str) -> Route:
        """Where this citizen's record `request_id` goes now."""
        return route_for(request_id, waiting=self.waiting, decided=request_id in self.decided)


@dataclass(frozen=True)
class Settled:
    """A record's outcome, the citizen's memory after it, and for a failure its tries and whether it parks."""

    outcome: Outcome
    citizen: CitizenApprovals
    attempts: int = 0
    parked: bool = False


def settle(
    citizen: CitizenApprovals, request_id: str, *, route: Route, answer: Answer | None, attempts_before: int,
    max_attempts: int, now: dt.datetime,
) -> Settled:
    """What becomes of one record routed `route`.

    `answer` is central's (or the link's failure) for a record routed to central, None otherwise;
    `attempts_before` is how often the record was tried before (its dead-letter headers). A record central
    already decided is skipped: its decision went out before the citizen's entry said it was decided.
    """
    if route == Route.ALREADY_DECIDED:
        return Settled(Skipped(), citizen)
    if route == Route.DIVERT:
        error = DivertedBehindEarlierRequest(f"waits behind the citizen's earlier request {citizen.waiting[0]}")
        failure = Failed(error, FailureReason.DIVERTED, now, counts_as_attempt=False)
        return Settled(failure, replace(citizen, waiting=waiting_after_failure(citizen.waiting, request_id)),
                       attempts=attempts_before)
    if answer is None:
        raise ValueError(f"a record routed {route} needs central's answer")
    if isinstance(answer, ApprovalDecided):
        return Settled(answer, replace(
            citizen, waiting=waiting_after_decision(citizen.waiting, request_id),
            decided=(*citizen.decided, request_id)[-DECIDED_KEPT:],
        ))
    attempts = attempts_before + 1 if answer.counts_as_attempt else attempts_before
    if should_park(attempts, max_attempts):  # a person takes it out of line
        return Settled(answer, replace(citizen, waiting=waiting_after_decision(citizen.waiting, request_id)),
                       attempts=attempts, parked=True)
    return Settled(answer, replace(citizen, waiting=waiting_after_failure(citizen.waiting, request_id)),
                   attempts=attempts)


# -- rounds ---------------------------------------------------------------------------------------------

Item = TypeVar("Item")


def approval_rounds(items: Sequence[tuple[Item, EnrollmentRecorded]]) -> list[list[tuple[Item, EnrollmentRecorded]]]:
    """A batch split so that each round holds at most one record per citizen, each citizen's in order."""
    result: list[list[tuple[Item, EnrollmentRecorded]]] = []
    seen: dict[str, int] = {}
    for item in items:
        number = seen.get(item[1].citizen_key, 0)
        seen[item[1].citizen_key] = number + 1
        if number == len(result):
            result.append([])
        result[number].append(item)
    return result
