"""The intake's agents: raw submissions in, recorded or rejected enrollments out.

Thin: the rules are in `processors/intake.py`; here is decoding, log context, routing and the
per-citizen table.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import faust
from faust.types import TableT

from events.enrollment import EnrollmentRejected, RawEncoding, SubmissionValidated
from pipeline.config import Settings
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import ENROLLMENT_RECORDED, ENROLLMENT_REJECTED, ENROLLMENT_SUBMITTED, INTAKE_BY_CITIZEN
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import encode, position, raw_topic
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


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Intake:
    """The intake's two stages and where their outcomes go."""

    def __init__(self, app: faust.App, settings: Settings, request_id_to_status: TableT[str, Any]) -> None:
        self.settings = settings
        self.secret = settings.citizen_key_secret.get_secret_value().encode()
        self.request_id_to_status = request_id_to_status
        self.by_citizen = raw_topic(app, INTAKE_BY_CITIZEN)
        self.recorded = raw_topic(app, ENROLLMENT_RECORDED)
        self.rejected = raw_topic(app, ENROLLMENT_REJECTED)
        self.citizen_key_to_requests: TableT[str, Any] = app.Table(
            "citizen_key_to_requests", default=None, partitions=settings.topic_partitions,
            help="Per citizen: their request ids and the unfinished one (intake's repeat and open-request rules)",
        )

    async def take_in(self, event: Any) -> None:
        """Stage 1: validate; valid submissions go on keyed by citizen, the rest to `rejected`."""
        topic, partition, offset = position(event)
        bind_message_context(topic=topic, partition=partition, offset=offset)
        raw = RawMessage(event.key, event.value, topic, partition, offset)
        at = now()
        try:
            outcome = validate_submission(raw, secret=self.secret, now=at, max_bytes=self.settings.intake_max_bytes)
        except Exception as error:  # an agent that raises acks its message: never let it raise
            log.exception("intake failed on a message; it is kept in the rejected topic")
            outcome = internal_error(raw, error, now=at)
        if isinstance(outcome, SubmissionValidated):
            await self.by_citizen.send(key=outcome.citizen_key.encode(), value=encode(outcome))
        else:
            await self.reject(outcome)

    async def record(self, event: Any) -> None:
        """Stage 2, per citizen: drop repeats, refuse a second open request, record the rest."""
        topic, partition, offset = position(event)
        try:
            validated = SubmissionValidated.model_validate_json(event.value)
        except ValueError as error:  # our own topic: only a bug or a stranger writes garbage here
            log.exception("unreadable internal intake message; kept in the rejected topic")
            raw = RawMessage(event.key, event.value, topic, partition, offset)
            await self.reject(internal_error(raw, error, now=now()))
            return
        bind_message_context(request_id=validated.request_id, citizen_key=validated.citizen_key[:12])
        known = CitizenRequests.from_json(self.citizen_key_to_requests.get(validated.citizen_key))
        open_status = self.request_id_to_status.get(known.open_request_id) if known.open_request_id else None
        decision = decide_recording(
            validated, known, open_request_finished=bool(open_status and open_status.get("terminal")), now=now()
        )
        if isinstance(decision, Record):
            self.citizen_key_to_requests[validated.citizen_key] = {
                **decision.citizen.to_json(), RECORDED_BY: _recorded_by(validated.request_id, partition, offset),
            }
            await self.recorded.send(key=validated.citizen_key.encode(), value=encode(decision.recorded))
            metrics.SUBMISSIONS.labels("recorded").inc()
            log.info("enrollment recorded", request_type=decision.recorded.request_type.value)
        elif isinstance(decision, Refuse):
            await self.reject(decision.rejected)
        elif isinstance(decision, Repeat):
            metrics.SUBMISSIONS.labels("repeat").inc()
            stored = self.citizen_key_to_requests.get(validated.citizen_key) or {}
            if stored.get(RECORDED_BY) == _recorded_by(validated.request_id, partition, offset):
                await self.record_again(validated)
            else:
                log.info("repeated request ignored: it is already known")

    async def record_again(self, validated: SubmissionValidated) -> None:
        """Send `recorded` again: the very message that recorded the request is being read a second time.

        The table's write and the `recorded` message are not atomic: a worker killed between the two
        kept the first and lost the second, and the message read again after the restart looked like a
        repeat, so the request was never recorded (ektp chaos lost 4 of 1,000 so). Offsets are committed
        only once `recorded` is delivered, so a lost one always comes back this way; a desk's genuine
        repeat is another message and stays ignored. Sending `recorded` twice is safe: the steps after
        the intake are idempotent by request_id.
        """
        again = decide_recording(validated, CitizenRequests(), open_request_finished=True, now=now())
        if isinstance(again, Record):
            await self.recorded.send(key=validated.citizen_key.encode(), value=encode(again.recorded))
            log.warning("known request without any status: recorded again")

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
        await self.rejected.send(key=key, value=encode(rejection))


def register_intake(app: faust.App, settings: Settings, request_id_to_status: TableT[str, Any]) -> None:
    """Wire the intake's two agents and its table into `app`."""
    intake = Intake(app, settings, request_id_to_status)

    @app.agent(raw_topic(app, ENROLLMENT_SUBMITTED), name="take_in_submissions", concurrency=1)
    async def take_in_submissions(stream: faust.StreamT[Any]) -> None:
        """Validate every raw submission; valid ones go on, keyed by citizen, the rest to `rejected`."""
        async for event in stream.events():
            await intake.take_in(event)

    @app.agent(intake.by_citizen, name="record_enrollments", concurrency=1)
    async def record_enrollments(stream: faust.StreamT[Any]) -> None:
        """Per citizen: drop repeats, refuse a second open request, record the rest."""
        async for event in stream.events():
            await intake.record(event)


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
