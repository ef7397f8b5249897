"""Central's decision on an enrollment (`ektp.approval.decided`), and the dead-letter headers."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from events.common import CitizenKey, Event
from events.enrollment import EnrollmentRecorded


class CentralDecision(StrEnum):
    """The outcomes of central deduplication (ABIS/AFIS) against the whole country."""

    PRINT_READY_RECORD = "PRINT_READY_RECORD"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    ADJUDICATE_RECORD = "ADJUDICATE_RECORD"
    ENROLL_FAILURE_AT_CENTRAL = "ENROLL_FAILURE_AT_CENTRAL"


class ApprovalDecided(Event):
    """Central decided (`ektp.approval.decided`, keyed by citizen key).

    `token` is central's JWS (compact, EdDSA) over request_id, person, decision and decided_at: a printing
    station verifies it against central's JWK Set and prints nothing without it.
    """

    producer: str = "ektp-pipeline/approval"
    citizen_key: CitizenKey
    decision: CentralDecision
    reason: str
    decided_at: AwareDatetime
    token: str = Field(description="Central's signed decision, JWS compact serialization")
    record: EnrollmentRecorded


class FailureReason(StrEnum):
    """Why a record was not decided now: the `ektp.dlt.reason` header of the dead-letter and unreadable streams.

    The first six are the link's (a transient failure to reach central), `diverted` holds a record behind
    the citizen's earlier one, `unreadable` is a message no step could decode.
    """

    REFUSED = "refused"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    BAD_RESPONSE = "bad_response"
    CIRCUIT_OPEN = "circuit_open"
    DIVERTED = "diverted"
    UNREADABLE = "unreadable"


class DeadLetterHeader(StrEnum):
    """Headers a dead-lettered record carries beside its original key, value and headers.

    Named as Spring Kafka's DLT and Kafka Connect's DLQ name theirs, so operators' tools read them.
    """

    ORIGINAL_TOPIC = "ektp.dlt.original-topic"
    ORIGINAL_PARTITION = "ektp.dlt.original-partition"
    ORIGINAL_OFFSET = "ektp.dlt.original-offset"
    CONSUMER_GROUP = "ektp.dlt.original-consumer-group"
    STAGE = "ektp.dlt.stage"
    ERROR_CLASS = "ektp.dlt.exception-class"
    ERROR_MESSAGE = "ektp.dlt.exception-message"
    ATTEMPTS = "ektp.dlt.attempts"
    FIRST_FAILURE_AT = "ektp.dlt.first-failure-at"
    LAST_FAILURE_AT = "ektp.dlt.last-failure-at"
    REASON = "ektp.dlt.reason"
    REPLAYED_AT = "ektp.dlt.replayed-at"
