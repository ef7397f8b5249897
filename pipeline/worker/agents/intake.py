"""The intake's agents: raw submissions in, recorded or rejected enrollments out.

Thin: the rules are in `processors/intake.py`; here is decoding, log context, routing and the
per-citizen table.
"""

from __future__ import annotations

import base64
from typing import Any

import faust
from faust.types import TableT

from events.common import utc_now
from events.enrollment import EnrollmentRejected, RawEncoding, SubmissionValidated
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import ENROLLMENT_RECORDED, ENROLLMENT_REJECTED, INTAKE_BY_CITIZEN
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import encode, position
from pipeline.worker.agents.unreadable import SetAside
from pipeline.worker.wiring import StepTopics, Wiring
from processors.intake import (
    CitizenRequests,
    RawMessage,
    Record,
    Refuse,
    Repeat,
    decide_recording,
    internal_error,
    validate_submission,
)

log = get_logger(__name__)

# In a citizen's table entry, beside `CitizenRequests`: the message that recorded their latest request.
RECORDED_BY = "recorded_by"


class Rejections:
    """Where a step of the intake sends what it refuses: `ektp.enrollment.rejected`, counted by code."""

    def __init__(self, topics: StepTopics) -> None:
        self.topic = topics.output(ENROLLMENT_REJECTED)

    async def reject(self, rejection: EnrollmentRejected) -> None:
        metrics.SUBMISSIONS.labels("rejected").inc()
        for error in rejection.errors:
            metrics.REJECTIONS.labels(error.code).inc()
        log.info(
            "submission rejected",
            request_id=rejection.request_id,
            codes=[f"{error.code}@{error.field}" for error in rejection.errors],
        )
        key = rejection.request_id.encode() if rejection.request_id_known else _raw_key(rejection)
        await self.topic.send(key=key, value=encode(rejection))


class TakeIn:
    """Stage 1: validate; valid submissions go on keyed by citizen, the rest to `rejected`.

    Every byte string is an input here: what cannot be read as a submission is a rejection with its raw
    bytes kept (the submission contract), so this step never sets a message aside as unreadable.
    """

    def __init__(self, wiring: Wiring, topics: StepTopics) -> None:
        self.max_bytes = wiring.settings.intake_max_bytes
        self.secret = wiring.settings.citizen_key_secret.get_secret_value().encode()
        self.by_citizen = topics.output(INTAKE_BY_CITIZEN)
        self.rejections = Rejections(topics)

    async def take_in(self, event: Any) -> None:
        topic, partition, offset = position(event)
        bind_message_context(topic=topic, partition=partition, offset=offset)
        raw = RawMessage(event.key, event.value, topic, partition, offset)
        at = utc_now()
        try:
            outcome = validate_submission(raw, secret=self.secret, now=at, max_bytes=self.max_bytes)
        except Exception as error:  # an agent that raises acks its message: never let it raise
            log.exception("intake failed on a message; it is kept in the rejected topic")
            outcome = internal_error(raw, error, now=at)
        if isinstance(outcome, SubmissionValidated):
            await self.by_citizen.send(key=outcome.citizen_key.encode(), value=encode(outcome))
        else:
            await self.rejections.reject(outcome)


class RecordEnrollments:
    """Stage 2, per citizen: drop repeats, refuse a second open request, record the rest."""

    def __init__(self, wiring: Wiring, topics: StepTopics) -> None:
        self.request_id_to_status = wiring.request_id_to_status
        self.recorded = topics.output(ENROLLMENT_RECORDED)
        self.rejections = Rejections(topics)
        self.set_aside = SetAside(wiring.app, topics)
        self.citizen_key_to_requests: TableT[str, Any] = wiring.app.Table(
            "citizen_key_to_requests", default=None, partitions=wiring.settings.topic_partitions,
            help="Per citizen: their request ids and the unfinished one (intake's repeat and open-request rules)",
        )

    async def record(self, event: Any) -> None:
        _topic, partition, offset = position(event)
        try:
            validated = SubmissionValidated.model_validate_json(event.value)
        except ValueError as error:  # our own topic: only a bug or a stranger writes garbage here
            await self.set_aside(event, error)
            return
        bind_message_context(request_id=validated.request_id, citizen_key=validated.citizen_key[:12])
        known = CitizenRequests.from_json(self.citizen_key_to_requests.get(validated.citizen_key))
        open_status = self.request_id_to_status.get(known.open_request_id) if known.open_request_id else None
        decision = decide_recording(
            validated, known, open_request_finished=bool(open_status and open_status.get("terminal")), now=utc_now()
        )
        if isinstance(decision, Record):
            self.citizen_key_to_requests[validated.citizen_key] = {
                **decision.citizen.to_json(), RECORDED_BY: _recorded_by(validated.request_id, partition, offset),
            }
            await self.recorded.send(key=validated.citizen_key.encode(), value=encode(decision.recorded))
            metrics.SUBMISSIONS.labels("recorded").inc()
            log.info("enrollment recorded", request_type=decision.recorded.request_type.value)
        elif isinstance(decision, Refuse):
            await self.rejections.reject(decision.rejected)
        elif isinstance(decision, Repeat):
            metrics.SUBMISSIONS.labels("repeat").inc()
            stored = self.citizen_key_to_requests.get(validated.citizen_key) or {}
            if stored.get(RECORDED_BY) == _recorded_by(validated.request_id, partition, offset):
                await self.record_again(validated)
            else:
                log.info("repeated request ignored: it is already known")

    async def record_again(self, validated: SubmissionValidated) -> None:
        """Send `recorded` again: the very message that recorded the request is being read a second time.

        The table's write and the `recorded` message are not atomic, so a worker killed between the two
        keeps the first and loses the second. Offsets are committed only once `recorded` is delivered, so
        the lost one's message is always read again, and is recognised by the table's `recorded_by`
        (`tests/integration/pipeline/worker/test_intake_redelivery.py`); a desk's genuine repeat is another
        message and stays ignored. Every step after the intake is idempotent by request_id.
        """
        again = decide_recording(validated, CitizenRequests(), open_request_finished=True, now=utc_now())
        if isinstance(again, Record):
            await self.recorded.send(key=validated.citizen_key.encode(), value=encode(again.recorded))
            log.warning("known request without any status: recorded again")


def wire_take_in(wiring: Wiring, topics: StepTopics) -> None:
    """The intake's first stage: `take_in_submissions`."""
    step = TakeIn(wiring, topics)

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def take_in_submissions(stream: faust.StreamT[Any]) -> None:
        """Validate every raw submission; valid ones go on, keyed by citizen, the rest to `rejected`."""
        async for event in stream.events():
            await step.take_in(event)


def wire_record(wiring: Wiring, topics: StepTopics) -> None:
    """The intake's second stage: `record_enrollments`."""
    step = RecordEnrollments(wiring, topics)

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def record_enrollments(stream: faust.StreamT[Any]) -> None:
        """Per citizen: drop repeats, refuse a second open request, record the rest."""
        async for event in stream.events():
            await step.record(event)


def _recorded_by(request_id: str, partition: int, offset: int) -> str:
    """Which message recorded a request, as the citizen's table entry remembers it."""
    return f"{request_id}@{partition}:{offset}"


def _raw_key(rejection: EnrollmentRejected) -> bytes | None:
    """The message key as the desk sent it."""
    if rejection.raw_key is None:
        return None
    if rejection.raw_key_encoding == RawEncoding.BASE64:
        return base64.b64decode(rejection.raw_key)
    return rejection.raw_key.encode()
