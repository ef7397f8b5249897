"""The intake's agents: raw submissions in, recorded or rejected enrollments out. Thin: the rules are in
`processors/intake.py`; here is decoding, log context, routing and the per-citizen table."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import faust
from faust.types import TableT

from events.enrollment import EnrollmentRejected, RawEncoding, SubmissionValidated
from pipeline.agents.kafka_io import encode, position, raw_topic
from pipeline.config import Settings
from pipeline.logs import bind_message_context, get_logger
from pipeline.topics import ENROLLMENT_RECORDED, ENROLLMENT_REJECTED, ENROLLMENT_SUBMITTED, INTAKE_BY_CITIZEN
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


def register_intake(app: faust.App, settings: Settings, request_id_to_status: TableT[str, Any]) -> None:
    """Wire the intake's two agents and its table into `app`."""
    submitted = raw_topic(app, ENROLLMENT_SUBMITTED)
    by_citizen = raw_topic(app, INTAKE_BY_CITIZEN)
    recorded = raw_topic(app, ENROLLMENT_RECORDED)
    rejected = raw_topic(app, ENROLLMENT_REJECTED)
    citizen_key_to_requests = app.Table(
        "citizen_key_to_requests", default=None, partitions=settings.topic_partitions,
        help="Per citizen: their request ids and the unfinished one (intake's repeat and open-request rules)",
    )
    secret = settings.citizen_key_secret.get_secret_value().encode()

    async def reject(rejection: EnrollmentRejected) -> None:
        log.info(
            "submission rejected",
            request_id=rejection.request_id,
            codes=[f"{error.code}@{error.field}" for error in rejection.errors],
        )
        key = rejection.request_id.encode() if rejection.request_id_known else _raw_key(rejection)
        await rejected.send(key=key, value=encode(rejection))

    @app.agent(submitted, name="take_in_submissions", concurrency=1)
    async def take_in_submissions(stream: faust.StreamT[Any]) -> None:
        """Validate every raw submission; valid ones go on, keyed by citizen, the rest to `rejected`."""
        async for event in stream.events():
            topic, partition, offset = position(event)
            bind_message_context(topic=topic, partition=partition, offset=offset)
            raw = RawMessage(event.key, event.value, topic, partition, offset)
            now = dt.datetime.now(dt.UTC)
            try:
                outcome = validate_submission(raw, secret=secret, now=now, max_bytes=settings.intake_max_bytes)
            except Exception as error:  # an agent that raises acks its message: never let it raise
                log.exception("intake failed on a message; it is kept in the rejected topic")
                outcome = internal_error(raw, error, now=now)
            if isinstance(outcome, SubmissionValidated):
                await by_citizen.send(key=outcome.citizen_key.encode(), value=encode(outcome))
            else:
                await reject(outcome)

    @app.agent(by_citizen, name="record_enrollments", concurrency=1)
    async def record_enrollments(stream: faust.StreamT[Any]) -> None:
        """Per citizen: drop repeats, refuse a second open request, record the rest."""
        async for event in stream.events():
            topic, partition, offset = position(event)
            try:
                validated = SubmissionValidated.model_validate_json(event.value)
            except ValueError as error:  # our own topic: only a bug or a stranger writes garbage here
                log.exception("unreadable internal intake message; kept in the rejected topic")
                await reject(internal_error(RawMessage(event.key, event.value, topic, partition, offset), error,
                                            now=dt.datetime.now(dt.UTC)))
                continue
            bind_message_context(request_id=validated.request_id, citizen_key=validated.citizen_key[:12])
            known = CitizenRequests.from_json(citizen_key_to_requests.get(validated.citizen_key))
            open_status = request_id_to_status.get(known.open_request_id) if known.open_request_id else None
            decision = decide_recording(
                validated, known,
                open_request_finished=bool(open_status and open_status.get("terminal")),
                now=dt.datetime.now(dt.UTC),
            )
            if isinstance(decision, Record):
                citizen_key_to_requests[validated.citizen_key] = decision.citizen.to_json()
                await recorded.send(key=validated.citizen_key.encode(), value=encode(decision.recorded))
                log.info("enrollment recorded", request_type=decision.recorded.request_type.value)
            elif isinstance(decision, Refuse):
                await reject(decision.rejected)
            elif isinstance(decision, Repeat):
                log.info("repeated request ignored: it is already known")


def _raw_key(rejection: EnrollmentRejected) -> bytes | None:
    """The message key as the desk sent it."""
    if rejection.raw_key is None:
        return None
    if rejection.raw_key_encoding == RawEncoding.BASE64:
        return base64.b64decode(rejection.raw_key)
    return rejection.raw_key.encode()
