"""Print dispatch: a print-ready decision with central's token becomes a print job; nothing else does."""

from __future__ import annotations

import datetime as dt

import pytest

from events.approval import ApprovalDecided, CentralDecision
from events.common import WIB
from events.enrollment import EnrollmentRecorded, RequestType
from processors.approval import decided, refused_by_central
from processors.print_dispatch import FIRST_TIME, REPLACEMENT, print_job_for, print_priority
from tests.support.submissions import digest, recorded_enrollment, valid_submission

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=WIB)
REQUEST_ID = "req-1"
TOKEN = "header.payload.signature"


def recorded(request_type: RequestType = RequestType.NEW) -> EnrollmentRecorded:
    """The intake's record of a valid submission of `request_type`."""
    document = valid_submission(request_id=REQUEST_ID, person="siti", sex="female", nik="2172045708900001")
    return recorded_enrollment({**document, "request_type": request_type.value}, at=NOW, citizen_key=digest("siti"))


def decision_on(record: EnrollmentRecorded, decision: CentralDecision = CentralDecision.PRINT_READY_RECORD,
                token: str = TOKEN) -> ApprovalDecided:
    """Central's `decision` on `record`, signed with `token`."""
    return decided(record, decision=decision, reason="deduplicated against the country", decided_at=NOW,
                   token=token, now=NOW)


def test_a_print_ready_decision_becomes_a_job_carrying_centrals_token() -> None:
    """The job is keyed by the request, for the record's office and citizen, and carries the signed approval."""
    record = recorded()

    job = print_job_for(decision_on(record), NOW)

    assert job is not None
    assert (job.request_id, job.job_id, job.citizen_key) == (REQUEST_ID, REQUEST_ID, record.citizen_key)
    assert job.approval_token == TOKEN
    assert job.decision == CentralDecision.PRINT_READY_RECORD
    assert (job.office_code, job.request_type, job.station_id) == ("2172", RequestType.NEW, None)
    assert job.occurred_at == NOW


def test_the_card_shows_the_recorded_resident_and_their_face_and_signature_digests() -> None:
    """Every card field comes from the record's resident; the city of issue is their city."""
    record = recorded()
    resident = record.submission.resident

    job = print_job_for(decision_on(record), NOW)

    assert job is not None
    card = job.card
    assert (card.nik, card.full_name, card.birth_place, card.birth_date) == (
        resident.nik, resident.full_name, resident.birth_place, resident.birth_date,
    )
    assert (card.sex, card.blood_type, card.religion, card.marital_status) == (
        resident.sex, resident.blood_type, resident.religion, resident.marital_status,
    )
    assert (card.occupation, card.citizenship, card.address) == (
        resident.occupation, resident.citizenship, resident.address,
    )
    assert card.issued_in == "KOTA TANJUNG PINANG"
    assert card.valid_until == "SEUMUR HIDUP"
    assert card.face == record.submission.biometrics.face == digest("siti-face")
    assert card.signature == record.submission.biometrics.signature == digest("siti-signature")


@pytest.mark.parametrize(
    ("request_type", "priority"),
    [
        (RequestType.NEW, FIRST_TIME),
        (RequestType.REPLACEMENT_DAMAGED, REPLACEMENT),
        (RequestType.REPLACEMENT_LOST, REPLACEMENT),
        (RequestType.DATA_CHANGE, REPLACEMENT),
    ],
)
def test_first_time_cards_print_before_replacements(request_type: RequestType, priority: int) -> None:
    """A new card gets the first-time priority; damaged, lost and changed-data cards the replacement one."""
    job = print_job_for(decision_on(recorded(request_type)), NOW)

    assert print_priority(request_type) == priority
    assert job is not None
    assert (job.request_type, job.priority) == (request_type, priority)


def test_the_first_time_priority_prints_first() -> None:
    """Lower priority prints first, so first-time must be below replacement."""
    assert FIRST_TIME < REPLACEMENT


def test_every_request_type_has_a_priority() -> None:
    """No request type is left without a rule: each is first-time or replacement."""
    assert {print_priority(request_type) for request_type in RequestType} == {FIRST_TIME, REPLACEMENT}


@pytest.mark.parametrize(
    "decision", [decision for decision in CentralDecision if decision != CentralDecision.PRINT_READY_RECORD],
)
def test_a_decision_other_than_print_ready_gives_no_job(decision: CentralDecision) -> None:
    """Duplicate, adjudicate and enroll-failure decisions end the request: nothing is printed."""
    assert print_job_for(decision_on(recorded(), decision), NOW) is None


def test_a_print_ready_decision_without_a_token_gives_no_job() -> None:
    """Without central's signed approval no station could verify the job: none is made."""
    assert print_job_for(decision_on(recorded(), token=""), NOW) is None


def test_a_permanent_refusal_by_central_is_never_printed() -> None:
    """Central's 4xx refusal, turned into a decision by the approval step, gives no job."""
    refusal = refused_by_central(recorded(), 422, "NIK_UNKNOWN", "no such NIK", NOW)

    assert print_job_for(refusal, NOW) is None
