"""The approval step's logic: what central is sent, and what its answer becomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from events.approval import ApprovalDecided, CentralDecision
from events.enrollment import EnrollmentRecorded
from events.status import RequestState, StatusNoted


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
