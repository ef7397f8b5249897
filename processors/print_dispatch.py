"""Print dispatch: a print-ready decision becomes a print job; other decisions end the request."""

from __future__ import annotations

import datetime as dt

from events.approval import ApprovalDecided, CentralDecision
from events.enrollment import RequestType
from events.printing import CardData, PrintRequested

FIRST_TIME, REPLACEMENT = 0, 1


def print_priority(request_type: RequestType) -> int:
    """First-time cards print before replacements when blanks are short (docs/architecture.md, "The KTP-el process")."""
    return FIRST_TIME if request_type == RequestType.NEW else REPLACEMENT


def print_job_for(decision: ApprovalDecided, now: dt.datetime) -> PrintRequested | None:
    """The print job for a print-ready record, carrying central's signed approval; None for the rest.

    Duplicate, adjudicate and enroll-failure decisions end the request: the status tracker tells the
    citizen what to do next.
    """
    if decision.decision != CentralDecision.PRINT_READY_RECORD or not decision.token:
        return None
    record = decision.record
    resident = record.submission.resident
    card = CardData(
        nik=resident.nik, full_name=resident.full_name, birth_place=resident.birth_place,
        birth_date=resident.birth_date, sex=resident.sex, blood_type=resident.blood_type,
        address=resident.address, religion=resident.religion, marital_status=resident.marital_status,
        occupation=resident.occupation, citizenship=resident.citizenship, issued_in=resident.address.city,
        face=record.submission.biometrics.face, signature=record.submission.biometrics.signature,
    )
    return PrintRequested(
        request_id=decision.request_id, occurred_at=now, job_id=decision.request_id,
        citizen_key=decision.citizen_key, office_code=record.office_code, request_type=record.request_type,
        priority=print_priority(record.request_type), approval_token=decision.token, card=card,
    )
