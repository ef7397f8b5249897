"""The status tracker's agent: every step topic in, `ektp.request.status` out ("where is my KTP?").

Thin: which event means which state is `processors/status.py`; here is the routing table from topic to
decoder, the table of current statuses, and the compacted status topic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import faust
from faust.types import TableT
from pydantic import BaseModel, ValidationError

from events.approval import ApprovalDecided, DeadLetterHeader
from events.enrollment import EnrollmentRecorded, EnrollmentRejected
from events.pickup import CardCollected, CardReadyForPickup
from events.printing import CardPrinted, PrintRequested
from events.status import RequestStatus, StatusNoted
from pipeline import metrics
from pipeline.agents.deadletter import header_text
from pipeline.agents.kafka_io import act_for, encode, know_changelog, position
from pipeline.logs import bind_message_context, get_logger
from pipeline.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_DECIDED,
    APPROVAL_PARKED,
    ENROLLMENT_RECORDED,
    ENROLLMENT_REJECTED,
    PICKUP_COLLECTED,
    PICKUP_READY,
    PRINT_COMPLETED,
    PRINT_REQUESTED,
    REQUEST_STATUS,
    STATUS_NOTES,
    TopicSpec,
)
from processors.status import (
    StatusUpdate,
    advance_status,
    update_from_card_printed,
    update_from_collected,
    update_from_dead_lettered,
    update_from_decided,
    update_from_noted,
    update_from_parked,
    update_from_print_requested,
    update_from_ready,
    update_from_recorded,
    update_from_rejected,
)

log = get_logger(__name__)

# Events folded per batch: one pass through faust's stream machinery for many events.
STATUS_BATCH_SIZE = 500
STATUS_BATCH_WITHIN = 0.05  # seconds a batch waits to fill

Event = TypeVar("Event", bound=BaseModel)


Decoder = Callable[[Any], StatusUpdate | None]


def _route(model: type[Event], to_update: Callable[[Event], StatusUpdate | None]) -> Decoder:
    return lambda event: to_update(model.model_validate_json(event.value))


def _failed_at(event: Any) -> dt.datetime:
    raw_time = header_text(event, DeadLetterHeader.LAST_FAILURE_AT)
    return dt.datetime.fromisoformat(raw_time) if raw_time else dt.datetime.now(dt.UTC)


def _dead_lettered(event: Any) -> StatusUpdate | None:
    """A dead-lettered record: the original record unchanged, the failure's time in its headers."""
    return update_from_dead_lettered(EnrollmentRecorded.model_validate_json(event.value), _failed_at(event))


def _parked(event: Any) -> StatusUpdate | None:
    """A parked record: as dead-lettered, with the tries it took."""
    attempts = int(header_text(event, DeadLetterHeader.ATTEMPTS) or 0)
    return update_from_parked(EnrollmentRecorded.model_validate_json(event.value), _failed_at(event), attempts)


# Which topic tells the tracker what: one line per step topic.
STATUS_ROUTES: dict[TopicSpec, Decoder] = {
    ENROLLMENT_RECORDED: _route(EnrollmentRecorded, update_from_recorded),
    ENROLLMENT_REJECTED: _route(EnrollmentRejected, update_from_rejected),
    APPROVAL_DECIDED: _route(ApprovalDecided, update_from_decided),
    APPROVAL_DEADLETTER: _dead_lettered,
    APPROVAL_PARKED: _parked,
    PRINT_REQUESTED: _route(PrintRequested, update_from_print_requested),
    PRINT_COMPLETED: _route(CardPrinted, update_from_card_printed),
    PICKUP_READY: _route(CardReadyForPickup, update_from_ready),
    PICKUP_COLLECTED: _route(CardCollected, update_from_collected),
    STATUS_NOTES: _route(StatusNoted, update_from_noted),
}


def create_status_table(app: faust.App, partitions: int) -> TableT[str, bytes]:
    """request_id → current status, as the JSON of `ektp.request.status`. Other agents read it too, e.g. the
    intake's open-request rule.

    The status topic is the table's changelog: a table write *is* the status published, one message per
    change where a changelog of its own took two, and nothing can come between the two. The topic is
    compacted and keyed by request_id, which is what a changelog is. Its partition is chosen from the key
    (`use_partitioner`), not from the event that wrote it: one request's events come from topics keyed
    differently (citizen key, office code), and writes spread over several partitions were restored in
    partition order after a restart, so an older status could win (seen in `ektp chaos`).
    """
    # The topic's bytes, as the contract has them: the key is the request_id, the value the status's JSON.
    changelog = app.topic(REQUEST_STATUS.name, key_type=str, value_type=bytes, key_serializer="raw",
                          value_serializer="raw", partitions=None)
    table: Any = app.Table(  # faust's Table; its interface TableT does not show the serializers
        "request_id_to_status", default=None, partitions=partitions, use_partitioner=True,
        key_type=str, value_type=bytes, changelog_topic=changelog,
        help="The current RequestStatus of every request, as the status topic's JSON",
    )
    # A table takes its writes' serializers from its types (json for both); these go out as they are.
    table.key_serializer = table.value_serializer = "raw"
    status_table: TableT[str, bytes] = table
    return status_table


def read_status(raw: bytes | None) -> RequestStatus | None:
    """A status as the table keeps it (the status topic's JSON), or None."""
    return RequestStatus.model_validate_json(raw) if raw else None


def register_status_tracker(app: faust.App, request_id_to_status: TableT[str, bytes]) -> None:
    """Wire the status tracker into `app`."""
    by_name = {spec.name: decode for spec, decode in STATUS_ROUTES.items()}
    step_topics = app.topic(*by_name, key_serializer="raw", value_serializer="raw")

    def advance(event: Any) -> None:
        """Fold one step event into its request's status; a change is written to the table, so published."""
        topic, partition, offset = position(event)
        bind_message_context(topic=topic, partition=partition, offset=offset)
        try:
            update = by_name[topic](event)
        except (ValidationError, ValueError):
            # Not ours to reject: the step that wrote it is at fault. Say so loudly; the status stays.
            log.exception("unreadable event on a step topic; status unchanged")
            return
        if update is None:
            return
        bind_message_context(request_id=update.request_id, topic=topic, partition=partition, offset=offset)
        changed = advance_status(read_status(request_id_to_status.get(update.request_id)), update)
        if changed is None:
            # Nothing new, or an event read again after a crash: the table is the status topic, so a change
            # it recovered was published, and one it lost is made again now.
            log.debug("status unchanged", state=update.state.value)
            return
        request_id_to_status[update.request_id] = encode(changed)
        metrics.STATUS_CHANGES.labels(changed.state.value).inc()
        # debug, not info: the status topic is the record of every change, and at eight changes a request
        # this line was 9% of the worker's time under `ektp bench` (py-spy)
        log.debug("status changed", state=changed.state.value)

    @app.agent(step_topics, name="track_request_status", concurrency=1)
    async def track_request_status(stream: faust.StreamT[Any]) -> None:
        """Move each request's status forward (never back) and publish it, keyed by request_id."""
        await know_changelog(app, request_id_to_status)
        # The stream faust passes is a Stream, which has take_events; its interface StreamT does not say so.
        batches = stream.take_events(STATUS_BATCH_SIZE, within=STATUS_BATCH_WITHIN)  # type: ignore[attr-defined]
        async for events in batches:
            for event in events:
                act_for(event)  # the write goes out as the status of this event, not of the batch's last
                advance(event)
