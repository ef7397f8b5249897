"""The backlog per step: where the requests that are not finished wait, and which have waited too long.

Every request's latest status (`ektp.request.status`) places it at one step of the workflow:

    intake      SUBMITTED                                   the desk sent it, the intake has not ruled
    approval    RECORDED, SENT_FOR_ENROLLMENT               waiting for central's decision
    deadletter  AWAITING_CENTRAL                            central unreachable: in the dead-letter stream
    parked      PARKED                                      failed too often: waiting for a person
    print       PRINT_READY_RECORD, PRINT_QUEUED, WAITING_FOR_BLANKS
    pickup      PRINTED, READY_FOR_PICKUP                   the card waits for its citizen
    done        COLLECTED and every refusal                 nothing more will happen on its own

The dashboard's backlog chart and the demo's report both count by these steps, so they tell one story.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from events.status import RequestState as S
from events.status import RequestStatus


class Step(StrEnum):
    """A step of the workflow where a request can wait."""

    INTAKE = "intake"
    APPROVAL = "approval"
    DEADLETTER = "deadletter"
    PARKED = "parked"
    PRINT = "print"
    PICKUP = "pickup"
    DONE = "done"


STEP_OF_STATE: Mapping[S, Step] = MappingProxyType(
    {
        S.SUBMITTED: Step.INTAKE,
        S.RECORDED: Step.APPROVAL,
        S.SENT_FOR_ENROLLMENT: Step.APPROVAL,
        S.AWAITING_CENTRAL: Step.DEADLETTER,
        S.PARKED: Step.PARKED,
        S.PRINT_READY_RECORD: Step.PRINT,
        S.PRINT_QUEUED: Step.PRINT,
        S.WAITING_FOR_BLANKS: Step.PRINT,
        S.PRINTED: Step.PICKUP,
        S.READY_FOR_PICKUP: Step.PICKUP,
        S.COLLECTED: Step.DONE,
        S.REJECTED: Step.DONE,
        S.DUPLICATE_RECORD: Step.DONE,
        S.ADJUDICATE_RECORD: Step.DONE,
        S.ENROLL_FAILURE_AT_CENTRAL: Step.DONE,
    }
)

# The steps a request waits at, in the order it passes them (DONE is not a backlog).
WAITING_STEPS: tuple[Step, ...] = (Step.INTAKE, Step.APPROVAL, Step.DEADLETTER, Step.PARKED, Step.PRINT, Step.PICKUP)

# A card waiting at the office waits for the citizen, not for the office: it is not "stuck".
CITIZEN_WAITS: frozenset[S] = frozenset({S.READY_FOR_PICKUP})


def step_of(state: S) -> Step:
    """The step a request in `state` waits at."""
    return STEP_OF_STATE[state]


def backlog_by_step(states: Iterable[S]) -> dict[Step, int]:
    """How many requests wait at each step (every waiting step present, zero included)."""
    counts = Counter(STEP_OF_STATE[state] for state in states)
    return {step: counts.get(step, 0) for step in WAITING_STEPS}


@dataclass(frozen=True)
class Stuck:
    """A request that has waited at one step longer than the office's limit."""

    request_id: str
    state: S
    step: Step
    waiting_seconds: float
    office_code: str | None
    nik_masked: str | None


def stuck_requests(
    statuses: Iterable[RequestStatus], *, now: dt.datetime, older_than: dt.timedelta
) -> list[Stuck]:
    """Requests that have not moved for `older_than`, at a step the office or the system must act on.

    Finished requests and cards waiting for their citizen are left out; the longest waits come first.
    """
    found = [
        Stuck(status.request_id, status.state, STEP_OF_STATE[status.state],
              (now - status.updated_at).total_seconds(), status.office_code, status.nik_masked)
        for status in statuses
        if STEP_OF_STATE[status.state] is not Step.DONE and status.state not in CITIZEN_WAITS
        and now - status.updated_at > older_than
    ]
    return sorted(found, key=lambda stuck: stuck.waiting_seconds, reverse=True)
