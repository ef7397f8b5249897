"""A live view of the dead-letter and parked streams, joined with each request's current state.

A request is *pending* while its latest dead-letter record exists and its status is AWAITING_CENTRAL,
and *parked* while its latest parked record exists and its status is PARKED: the status tracker is the
single truth of where a request is, so a record that was replayed and decided stops counting at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from events.approval import DeadLetterHeader as H
from events.enrollment import EnrollmentRecorded
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.kafka.reading import Record, TopicFollower
from pipeline.topology.topics import APPROVAL_DEADLETTER, APPROVAL_PARKED, REQUEST_STATUS


@dataclass(frozen=True)
class DeadLetterEntry:
    """The latest dead-letter (or parked) record of one request, with its failure context."""

    request_id: str
    citizen_key: str
    office_code: str
    kecamatan_code: str
    reason: str
    error_class: str
    error_message: str
    attempts: int
    first_failure_at: dt.datetime
    last_failure_at: dt.datetime
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_record(cls, record: ConsumerRecord[bytes, bytes]) -> DeadLetterEntry | None:
        """The entry a dead-letter record makes; None for a record that is not an enrollment."""
        if record.value is None:
            return None
        try:
            enrollment = EnrollmentRecorded.model_validate_json(record.value)
        except ValidationError:
            return None  # an unreadable record: kept in the topic, shown by `ektp dlq list --all`
        headers = {key: value.decode(errors="replace") for key, value in record.headers}
        fallback = dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC)
        return cls(
            request_id=enrollment.request_id, citizen_key=enrollment.citizen_key,
            office_code=enrollment.office_code, kecamatan_code=enrollment.area.kecamatan_code,
            reason=headers.get(H.REASON, "unknown"), error_class=headers.get(H.ERROR_CLASS, "unknown"),
            error_message=headers.get(H.ERROR_MESSAGE, ""), attempts=int(headers.get(H.ATTEMPTS, "0") or 0),
            first_failure_at=_when(headers.get(H.FIRST_FAILURE_AT), fallback),
            last_failure_at=_when(headers.get(H.LAST_FAILURE_AT), fallback),
            partition=record.partition, offset=record.offset, key=record.key, value=record.value,
            headers=tuple((key, value) for key, value in record.headers),
        )


@dataclass(frozen=True)
class DeadLetterStats:
    """`ektp dlq stats`: pending and parked counts, pending by reason, the oldest waiting."""

    pending: int
    parked: int
    by_error: dict[str, int]
    oldest_waiting_at: dt.datetime | None

    def as_json(self, now: dt.datetime) -> dict[str, object]:
        oldest = (now - self.oldest_waiting_at).total_seconds() if self.oldest_waiting_at else None
        return {"pending": self.pending, "parked": self.parked, "by_error": self.by_error,
                "oldest_waiting_seconds": round(oldest, 1) if oldest is not None else None}


class DeadLetterView(TopicFollower):
    """Follows the dead-letter, parked and status topics from their start, as `role`."""

    topics = (APPROVAL_DEADLETTER.name, APPROVAL_PARKED.name, REQUEST_STATUS.name)

    def __init__(self, settings: Settings, role: str) -> None:
        super().__init__(settings, role)
        self.dead_lettered: dict[str, DeadLetterEntry] = {}
        self.parked_records: dict[str, DeadLetterEntry] = {}
        self.states: dict[str, RequestState] = {}

    def take(self, record: Record) -> None:
        if record.topic == REQUEST_STATUS.name:
            if record.value is not None:
                with contextlib.suppress(ValidationError):
                    status = RequestStatus.model_validate_json(record.value)
                    self.states[status.request_id] = status.state
            return
        entry = DeadLetterEntry.from_record(record)
        if entry is not None:
            target = self.dead_lettered if record.topic == APPROVAL_DEADLETTER.name else self.parked_records
            target[entry.request_id] = entry

    def pending(self) -> list[DeadLetterEntry]:
        """Records waiting for central, in the order they were written (per citizen, oldest first)."""
        waiting = [entry for request_id, entry in self.dead_lettered.items()
                   if self.states.get(request_id, RequestState.AWAITING_CENTRAL) == RequestState.AWAITING_CENTRAL]
        return sorted(waiting, key=lambda entry: (entry.partition, entry.offset))

    def parked(self) -> list[DeadLetterEntry]:
        """Records parked after repeated failures, waiting for a person."""
        waiting = [entry for request_id, entry in self.parked_records.items()
                   if self.states.get(request_id, RequestState.PARKED) == RequestState.PARKED]
        return sorted(waiting, key=lambda entry: (entry.partition, entry.offset))

    def stats(self) -> DeadLetterStats:
        pending = self.pending()
        return DeadLetterStats(
            pending=len(pending), parked=len(self.parked()),
            by_error=dict(Counter(entry.reason for entry in pending).most_common()),
            oldest_waiting_at=min((entry.first_failure_at for entry in pending), default=None),
        )


def _when(text: str | None, fallback: dt.datetime) -> dt.datetime:
    if not text:
        return fallback
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return fallback
