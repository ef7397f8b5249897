"""The intake's agent: raw submissions in, each validated and sent on to its citizen, or rejected.

Thin: the rules are in `processors/intake.py`. A desk may key its messages by anything, so every submission
whose NIK can be read goes on keyed by citizen key to the citizen's step (`ektp.internal.citizen-inbox`),
valid or not: that step knows the citizen's requests, decides the open-request rule, and owns the statuses.
A rejected submission whose NIK cannot be read goes there keyed by its request_id alone
(`processors.intake.citizen_key_of_rejected`); one with neither is rejected here and has no status.
"""

from __future__ import annotations

import base64
from typing import Any

import faust

from events.common import utc_now
from events.enrollment import EnrollmentRejected, RawEncoding, SubmissionValidated
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.inbox import InboxKind, inbox_headers
from pipeline.topology.topics import CITIZEN_INBOX, ENROLLMENT_REJECTED
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import encode, position
from pipeline.worker.wiring import StepTopics, Wiring
from processors.intake import RawMessage, citizen_key_of_rejected, internal_error, validate_submission

log = get_logger(__name__)


class Rejections:
    """Where a refused submission goes: `ektp.enrollment.rejected`, keyed by request_id, counted by code."""

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
        key = rejection.request_id.encode() if rejection.request_id_known else raw_key(rejection)
        await self.topic.send(key=key, value=encode(rejection))


class TakeIn:
    """Validate one raw submission and send it on to its citizen, or reject it here."""

    def __init__(self, wiring: Wiring, topics: StepTopics) -> None:
        self.max_bytes = wiring.settings.intake_max_bytes
        self.secret = wiring.settings.citizen_key_secret.get_secret_value().encode()
        self.inbox = topics.output(CITIZEN_INBOX)
        self.rejections = Rejections(topics)

    async def take_in(self, event: Any) -> None:
        topic, partition, offset = position(event)
        bind_message_context(topic=topic, partition=partition, offset=offset)
        raw = RawMessage(event.key, event.value, topic, partition, offset)
        at = utc_now()
        try:
            outcome = validate_submission(raw, secret=self.secret, now=at, max_bytes=self.max_bytes)
            citizen = (None if isinstance(outcome, SubmissionValidated)
                       else citizen_key_of_rejected(raw, secret=self.secret, max_bytes=self.max_bytes))
        except Exception as error:  # an agent that raises acks its message: never let it raise
            log.exception("intake failed on a message; it is kept in the rejected topic")
            outcome, citizen = internal_error(raw, error, now=at), None
        if isinstance(outcome, SubmissionValidated):
            await self.inbox.send(key=outcome.citizen_key.encode(), value=encode(outcome),
                                  headers=inbox_headers(InboxKind.SUBMISSION))
        elif citizen is not None:
            await self.inbox.send(key=citizen.encode(), value=encode(outcome),
                                  headers=inbox_headers(InboxKind.REJECTION))
        else:
            await self.rejections.reject(outcome)


def wire_take_in(wiring: Wiring, topics: StepTopics) -> None:
    """The intake: `take_in_submissions`."""
    step = TakeIn(wiring, topics)

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def take_in_submissions(stream: faust.StreamT[Any]) -> None:
        """Validate every raw submission; each one whose NIK reads goes on to its citizen, the rest are rejected."""
        async for event in stream.events():
            await step.take_in(event)


def raw_key(rejection: EnrollmentRejected) -> bytes | None:
    """The message key as the desk sent it."""
    if rejection.raw_key is None:
        return None
    if rejection.raw_key_encoding == RawEncoding.BASE64:
        return base64.b64decode(rejection.raw_key)
    return rejection.raw_key.encode()
