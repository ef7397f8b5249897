"""The approval step's agent: recorded enrollments to central, central's decisions out.

Thin: the rules are in `processors/approval.py` and `processors/dead_letter.py`. Throughput comes from
batches (`take_events`) sent to central's batch endpoint in one call (concurrency stays 1,
faust-streaming #606); a call holds at most one record per citizen and central decides its items in order,
so one citizen's records reach central in order.

A record central cannot take now (refused, timeout, 5xx, 429, open breaker) is written to
`ektp.approval.deadletter` unchanged, with the failure in its headers; while a citizen has a record
waiting there, their later records are diverted behind it; a record that failed `dlq_max_attempts` times
is parked in `ektp.approval.parked`. Replays send records back to `ektp.enrollment.recorded`, and a
request central already decided is never asked again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import faust
from faust.types import TableT

from events.approval import DeadLetterHeader, FailureReason
from events.common import utc_now
from events.enrollment import EnrollmentRecorded
from pipeline.central import CentralClient, CentralRejected, CentralUnavailable, CircuitOpen
from pipeline.central.client import MAX_BATCH, BatchAnswer
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import APPROVAL_DEADLETTER, APPROVAL_DECIDED, APPROVAL_PARKED, STATUS_NOTES
from pipeline.worker import metrics
from pipeline.worker.agents.dead_letters import failure_headers, header_text
from pipeline.worker.agents.kafka_io import act_for, encode, message_id
from pipeline.worker.agents.unreadable import SetAside
from pipeline.worker.faust_fixes import end_batches_when_stopping
from pipeline.worker.wiring import StepTopics, Wiring
from processors.approval import (
    Answer,
    CitizenApprovals,
    DecidedAgain,
    Failed,
    Outcome,
    Settled,
    Skipped,
    approval_rounds,
    decided,
    enrollment_for_central,
    refused_by_central,
    sent_for_enrollment,
    settle,
)
from processors.dead_letter import Route

log = get_logger(__name__)


class Approver:
    """Central's decision for each recorded enrollment, or a safe wait in the dead-letter stream."""

    def __init__(self, wiring: Wiring, topics: StepTopics) -> None:
        self.app = wiring.app
        self.max_attempts = wiring.settings.dlq_max_attempts
        self.central: CentralClient = wiring.central
        self.decided_topic = topics.output(APPROVAL_DECIDED)
        self.notes_topic = topics.output(STATUS_NOTES)
        self.deadletter_topic = topics.output(APPROVAL_DEADLETTER)
        self.parked_topic = topics.output(APPROVAL_PARKED)
        self.set_aside = SetAside(wiring.app, topics)
        self.citizen_key_to_approvals: TableT[str, Any] = wiring.app.Table(
            "citizen_key_to_approvals", default=None, partitions=wiring.settings.topic_partitions,
            help="Per citizen: request ids waiting for central (oldest first) and the last ones decided",
        )

    async def approve(self, events: list[Any]) -> None:
        """One batch: ask central in one call per round, publish the outcomes.

        Never raises: `take_events` acks the whole batch when its body ends, however it ends.
        """
        readable = [(event, record) for event in events if (record := await self._read(event)) is not None]
        for round_ in approval_rounds(readable):
            for event, record, settled in await self._approve_round(round_):
                bind_message_context(request_id=record.request_id)
                await self._publish(event, settled)

    async def _approve_round(
        self, items: list[tuple[Any, EnrollmentRecorded]]
    ) -> list[tuple[Any, EnrollmentRecorded, Settled]]:
        plans: list[tuple[Any, EnrollmentRecorded, Route, CitizenApprovals]] = []
        asking: list[EnrollmentRecorded] = []
        for event, record in items:
            citizen = CitizenApprovals.from_json(self.citizen_key_to_approvals.get(record.citizen_key))
            route = citizen.route(record.request_id)
            plans.append((event, record, route, citizen))
            if route == Route.ASK_CENTRAL:
                note = sent_for_enrollment(record, utc_now())
                await self.notes_topic.send(key=record.citizen_key.encode(), value=encode(note))
                asking.append(record)
        answers = iter(await self._decide_all(asking))
        settled_round: list[tuple[Any, EnrollmentRecorded, Settled]] = []
        for event, record, route, citizen in plans:
            settled = settle(
                citizen, record.request_id, message=message_id(event), route=route,
                answer=next(answers) if route == Route.ASK_CENTRAL else None,
                attempts_before=int(header_text(event, DeadLetterHeader.ATTEMPTS) or 0),
                max_attempts=self.max_attempts, now=utc_now(),
            )
            act_for(event)  # a table write goes to the changelog partition of the current event: name this one
            self.citizen_key_to_approvals[record.citizen_key] = settled.citizen.to_json()
            settled_round.append((event, record, settled))
        return settled_round

    async def _decide_all(self, records: list[EnrollmentRecorded]) -> list[Answer]:
        """Central's decision on each record, in order, in as few calls as central takes; never raises."""
        chunks = [records[start:start + MAX_BATCH] for start in range(0, len(records), MAX_BATCH)]
        decided_chunks = await asyncio.gather(*(self._decide_chunk(chunk) for chunk in chunks))
        return [answer for chunk in decided_chunks for answer in chunk]

    async def _decide_chunk(self, records: list[EnrollmentRecorded]) -> list[Answer]:
        try:
            answers = await self.central.enroll_batch([enrollment_for_central(record) for record in records])
        except CentralRejected as refusal:  # the batch itself refused (not an item): ask for each on its own
            log.warning("central refused a batch; asking one by one", status=refusal.status, code=refusal.code)
            return list(await asyncio.gather(*(self._decide(record) for record in records)))
        except CentralUnavailable as failure:
            return [self._unavailable(failure) for _record in records]
        except Exception as error:  # a bug must not ack the batch without an outcome: dead-letter it
            log.exception("unexpected error calling central")
            return [Failed(error, FailureReason.BAD_RESPONSE, utc_now()) for _record in records]
        return [self._answer_of(record, answer) for record, answer in zip(records, answers, strict=True)]

    async def _decide(self, record: EnrollmentRecorded) -> Answer:
        """Central's decision on one record, or why central could not be reached; never raises."""
        try:
            answer = await self.central.enroll(enrollment_for_central(record))
        except CentralRejected as refusal:
            return self._answer_of(record, refusal)
        except CentralUnavailable as failure:
            return self._unavailable(failure)
        except Exception as error:  # a bug must not ack the batch without an outcome: dead-letter it
            log.exception("unexpected error calling central")
            return Failed(error, FailureReason.BAD_RESPONSE, utc_now())
        return self._answer_of(record, answer)

    def _answer_of(self, record: EnrollmentRecorded, answer: BatchAnswer) -> Answer:
        if isinstance(answer, CentralRejected):
            log.warning("central refused a record", request_id=record.request_id, status=answer.status,
                        code=answer.code)
            return refused_by_central(record, answer.status, answer.code, answer.detail, utc_now())
        if isinstance(answer, CentralUnavailable):
            return self._unavailable(answer)
        return decided(record, decision=answer.decision, reason=answer.reason, decided_at=answer.decided_at,
                       token=answer.token, now=utc_now())

    @staticmethod
    def _unavailable(failure: CentralUnavailable) -> Failed:
        metrics.CENTRAL_FAILURES.labels(failure.reason).inc()
        return Failed(failure, failure.reason, utc_now(), counts_as_attempt=not isinstance(failure, CircuitOpen))

    async def _publish(self, event: Any, settled: Settled) -> None:
        outcome: Outcome = settled.outcome
        if isinstance(outcome, Skipped):
            log.info("already decided; replay or redelivery ignored")
            metrics.DLQ_SKIPPED.inc()
        elif isinstance(outcome, DecidedAgain):
            await self.decided_topic.send(key=outcome.decision.citizen_key.encode(), value=encode(outcome.decision))
            log.warning("decision published again: its message was read again after a crash")
        elif isinstance(outcome, Failed):
            await self._dead_letter(event, outcome, attempts=settled.attempts, parked=settled.parked)
        else:
            await self.decided_topic.send(key=outcome.citizen_key.encode(), value=encode(outcome))
            log.info("central decided", decision=outcome.decision.value)
            metrics.CENTRAL_DECISIONS.labels(outcome.decision.value).inc()

    async def _read(self, event: Any) -> EnrollmentRecorded | None:
        try:
            return EnrollmentRecorded.model_validate_json(event.value)
        except ValueError as error:
            await self.set_aside(event, error)
            return None

    async def _dead_letter(self, event: Any, failure: Failed, *, attempts: int, parked: bool) -> None:
        first = header_text(event, DeadLetterHeader.FIRST_FAILURE_AT)
        headers = failure_headers(
            original=event, consumer_group=self.app.conf.id, stage="approval", error=failure.error,
            reason=failure.reason, attempts=attempts,
            first_failure_at=dt.datetime.fromisoformat(first) if first else failure.at, last_failure_at=failure.at,
        )
        topic = self.parked_topic if parked else self.deadletter_topic
        await topic.send(key=event.key, value=event.value, headers=headers)
        if parked:
            log.warning("record parked after repeated failures; a person must look at it", attempts=attempts)
            metrics.DLQ_PARKED_TOTAL.inc()
        else:
            log.warning("record dead-lettered; it waits for a replay", reason=failure.reason, attempts=attempts)
            metrics.DLQ_DEAD_LETTERED.labels(failure.reason).inc()


def wire_approval(wiring: Wiring, topics: StepTopics) -> None:
    """The approval step: `approve_enrollments`."""
    approver = Approver(wiring, topics)
    batch_size, within = wiring.settings.approval_batch_size, wiring.settings.approval_batch_within

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def approve_enrollments(stream: faust.StreamT[Any]) -> None:
        """Send each recorded enrollment to central and publish its signed decision."""
        try:
            # The stream faust passes is a Stream, which has take_events; its interface StreamT does not say so.
            batches = stream.take_events(batch_size, within=within)  # type: ignore[attr-defined]
            async for events in batches:
                await approver.approve(events)
        finally:
            await approver.central.close()

    end_batches_when_stopping(approve_enrollments)
