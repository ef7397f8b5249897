"""Where a request is (`ektp.request.status`, compacted, keyed by request_id): "where is my KTP?"."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.common import Event, RequestId


class RequestState(StrEnum):
    """The states of docs/architecture.md ("Request states"); their order is `processors.status.STATE_RANK`."""

    SUBMITTED = "SUBMITTED"
    REJECTED = "REJECTED"
    RECORDED = "RECORDED"
    SENT_FOR_ENROLLMENT = "SENT_FOR_ENROLLMENT"
    AWAITING_CENTRAL = "AWAITING_CENTRAL"
    PARKED = "PARKED"
    PRINT_READY_RECORD = "PRINT_READY_RECORD"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    ADJUDICATE_RECORD = "ADJUDICATE_RECORD"
    ENROLL_FAILURE_AT_CENTRAL = "ENROLL_FAILURE_AT_CENTRAL"
    PRINT_QUEUED = "PRINT_QUEUED"
    WAITING_FOR_BLANKS = "WAITING_FOR_BLANKS"
    PRINTED = "PRINTED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COLLECTED = "COLLECTED"


class TimelineEntry(BaseModel):
    """One step of a request's history."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    state: RequestState
    at: AwareDatetime
    note: str | None = None


class RequestStatus(BaseModel):
    """The current state of one request, with a citizen-facing explanation and its timeline.

    Holds no NIK: `nik_masked` only, so it may be shown on any screen.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    request_id: RequestId
    state: RequestState
    terminal: bool
    updated_at: AwareDatetime
    office_code: str | None
    citizen_key: str | None = None
    nik_masked: str | None = None
    explanation_id: str = Field(description="What it means for the citizen, in Indonesian")
    explanation_en: str = Field(description="The same in English")
    error_codes: tuple[str, ...] = Field(default=(), description="Why, when the request was refused")
    timeline: tuple[TimelineEntry, ...] = ()
    last_event_id: str | None = Field(None, description="The event that caused the last change")


class StatusNoted(Event):
    """A step's word to the status tracker for a state no contract topic carries (internal topic).

    SENT_FOR_ENROLLMENT (approval), WAITING_FOR_BLANKS (station), and notes such as a refused forged
    approval. Keyed by citizen key, so it meets the request's other events in one partition.
    """

    citizen_key: str
    state: RequestState
    note: str | None = None
    office_code: str | None = None
