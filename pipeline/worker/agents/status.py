"""The status tracker's agent: every step topic in, `ektp.request.status` out ("where is my KTP?").

Thin: which event means which state is `processors/status.py`; here is the decoder of each topic the
routing table gives the tracker, the table of current statuses, and the compacted status topic.
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
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import (
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
from pipeline.worker import metrics
from pipeline.worker.agents.dead_letters import header_text
from pipeline.worker.agents.kafka_io import act_for, encode, position
from pipeline.worker.agents.unreadable import SetAside
from pipeline.worker.faust_fixes import end_batches_when_stopping, know_changelog
from pipeline.worker.wiring import RoutingError, StepTopics, Wiring
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

# Events folded per batch; one changelog flush per batch keeps the cost of the ordering below small.
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


# How the tracker reads each topic the routing table gives it: one line per topic.
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


def create_status_table(app: faust.App, partitions: int) -> TableT[str, Any]:
    """request_id → current status (JSON). Other steps read it, e.g. the intake's open-request rule.

    Its changelog is partitioned by request_id (`use_partitioner`), not by the partition of the event that
    wrote it: one request's events come from topics keyed differently (citizen key, office code), and
    writes spread over several changelog partitions are restored in partition order after a restart, so an
    older status could win (`tests/integration/pipeline/worker/test_status_changelog.py`).
    """
    table: TableT[str, Any] = app.Table(
        "request_id_to_status", default=None, partitions=partitions, use_partitioner=True,
        help="The current RequestStatus of every request, as JSON",
    )
    return table


def wire_status_tracker(wiring: Wiring, topics: StepTopics) -> None:
    """The status tracker: `track_request_status`."""
    by_name = {spec.name: decode for spec, decode in STATUS_ROUTES.items()}
    if set(by_name) != {spec.name for spec in topics.step.reads}:
        raise RoutingError(f"{topics.step.name} reads {sorted(spec.name for spec in topics.step.reads)} by the "
                           f"routing table, but can decode {sorted(by_name)}")
    app, request_id_to_status = wiring.app, wiring.request_id_to_status
    status_topic = topics.output(REQUEST_STATUS)
    set_aside = SetAside(app, topics)

    def advance(event: Any) -> RequestStatus | BaseException | None:
        """Fold one step event into its request's status in the table; the status to publish, None, or why
        the event could not be read."""
        act_for(event)  # the table write goes to the changelog partition of this event, not the batch's last
        topic, partition, offset = position(event)
        bind_message_context(topic=topic, partition=partition, offset=offset)
        try:
            update = by_name[topic](event)
        except (ValidationError, ValueError) as error:
            return error
        if update is None:
            return None
        bind_message_context(request_id=update.request_id, topic=topic, partition=partition, offset=offset)
        stored = request_id_to_status.get(update.request_id)
        current = RequestStatus.model_validate(stored) if stored else None
        changed = advance_status(current, update)
        if changed is None:
            if current is not None and update.event_id == current.last_event_id:
                # The very event that made the current status, read again: the worker died after the table
                # kept the change but perhaps before the status went out. Publishing it again is harmless.
                return current
            return None
        request_id_to_status[update.request_id] = changed.model_dump(mode="json")
        return changed

    @app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def track_request_status(stream: faust.StreamT[Any]) -> None:
        """Move each request's status forward (never back) and publish it, keyed by request_id."""
        await know_changelog(app, request_id_to_status)
        # The stream faust passes is a Stream, which has take_events; its interface StreamT does not say so.
        batches = stream.take_events(STATUS_BATCH_SIZE, within=STATUS_BATCH_WITHIN)  # type: ignore[attr-defined]
        async for events in batches:
            changed: list[RequestStatus] = []
            for event in events:
                result = advance(event)
                if isinstance(result, BaseException):
                    await set_aside(event, result)
                elif result is not None:
                    changed.append(result)
            if not changed:
                continue
            # The table's changelog is written before any status is published: a worker killed in between
            # then recovers a table at or ahead of what readers saw, so the events it reads again cannot
            # publish a state below it, and the event whose status it did not get to publish is read again.
            await app.producer.flush()
            for status in changed:
                await status_topic.send(key=status.request_id.encode(), value=encode(status))
                metrics.STATUS_CHANGES.labels(status.state.value).inc()

    end_batches_when_stopping(track_request_status)
