"""The citizen's recording and approval: validated submissions to records, records to central, decisions to print.

One agent, `record_and_approve`, reads the citizen's inbox (validated submissions, rejections of a citizen's
submission, dead-letter replays), all keyed by citizen key. Per batch (`take_events`; concurrency stays 1,
faust-streaming #606) it decides what each message does to its citizen (`processors/intake.py`), asks central
in as few calls as central takes, a round holding at most one record per citizen so that a citizen's records
reach central in order (`processors/approval.py`, `processors/dead_letter.py`), turns print-ready decisions
into print jobs (`processors/print_dispatch.py`), and keeps each request's status (`processors/citizen.py`).

A record central cannot take now (refused, timeout, 5xx, 429, open breaker) goes to `ektp.approval.deadletter`
with the failure in its headers; while a citizen has a record waiting there, their later records are diverted
behind it; a record that failed `dlq_max_attempts` times is parked in `ektp.approval.parked`. What the batch
sends is flushed before the citizens' entries are written (`pipeline/worker/citizens.py`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import faust

from events.approval import ApprovalDecided, DeadLetterHeader, FailureReason
from events.common import utc_now
from events.enrollment import EnrollmentRecorded, EnrollmentRejected, SubmissionValidated
from events.pickup import PickupExpected
from pipeline.central import CentralClient, CentralRejected, CentralUnavailable, CircuitOpen
from pipeline.central.client import MAX_BATCH, BatchAnswer
from pipeline.logs import get_logger
from pipeline.topology.inbox import InboxKind, inbox_kind, without_inbox_header
from pipeline.topology.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_DECIDED,
    APPROVAL_PARKED,
    ENROLLMENT_RECORDED,
    PICKUP_READY,
    PRINT_REQUESTED,
    REQUEST_STATUS,
)
from pipeline.worker import metrics
from pipeline.worker.agents.dead_letters import failure_headers, header_text, headers_of
from pipeline.worker.agents.intake import Rejections
from pipeline.worker.agents.kafka_io import encode
from pipeline.worker.agents.unreadable import SetAside
from pipeline.worker.citizens import CitizenTable, publish
from pipeline.worker.faust_fixes import end_batches_when_stopping, leave_uncommitted
from pipeline.worker.wiring import StepTopics, Wiring
from processors.approval import (
    Answer,
    Failed,
    Settled,
    Skipped,
    approval_rounds,
    decided,
    enrollment_for_central,
    refused_by_central,
    settle,
)
from processors.citizen import Changed, Citizen, fold_all, learn_of_card
from processors.dead_letter import Route
from processors.intake import Record, Refuse, Repeat, decide_recording
from processors.pickup import expected_pickup
from processors.print_dispatch import print_job_for
from processors.status import (
    StatusUpdate,
    update_from_dead_lettered,
    update_from_decided,
    update_from_parked,
    update_from_print_requested,
    update_from_recorded,
    update_from_rejected,
    update_from_sent,
)

log = get_logger(__name__)

InboxMessage = SubmissionValidated | EnrollmentRejected | EnrollmentRecorded
DECODERS: dict[InboxKind, type[InboxMessage]] = {
    InboxKind.SUBMISSION: SubmissionValidated,
    InboxKind.REJECTION: EnrollmentRejected,
    InboxKind.REPLAY: EnrollmentRecorded,
}


@dataclass
class Work:
    """One citizen's share of a batch: their memories as the batch leaves them, and the facts to fold."""

    citizen: Citizen
    event: Any  # one of the citizen's events: its partition is the changelog's for the entry
    updates: list[StatusUpdate] = field(default_factory=list)
    cards: list[PickupExpected] = field(default_factory=list)

    def rejected(self, rejection: EnrollmentRejected) -> None:
        update = update_from_rejected(rejection)
        if update is not None:
            self.updates.append(update)


@dataclass(frozen=True)
class Read:
    """A message of the inbox as it was read: the event, and whether it is a record sent back from the dead letters."""

    event: Any
    replayed: bool


class RecordAndApprove:
    """The citizen's inbox, batch by batch: records, central's decisions, print jobs, statuses."""

    def __init__(self, wiring: Wiring, topics: StepTopics, citizens: CitizenTable) -> None:
        self.app = wiring.app
        self.citizens = citizens
        self.max_attempts = wiring.settings.dlq_max_attempts
        self.central: CentralClient = wiring.central
        self.rejections = Rejections(topics)
        self.set_aside = SetAside(wiring.app, topics)
        self.recorded = topics.output(ENROLLMENT_RECORDED)
        self.decided = topics.output(APPROVAL_DECIDED)
        self.deadletter = topics.output(APPROVAL_DEADLETTER)
        self.parked = topics.output(APPROVAL_PARKED)
        self.print_jobs = topics.output(PRINT_REQUESTED)
        self.ready = topics.output(PICKUP_READY)
        self.statuses = topics.output(REQUEST_STATUS)

    async def handle(self, events: list[Any]) -> None:
        """One batch. Never raises: `take_events` acks the whole batch when its body ends, however it ends."""
        since = self.citizens.generation
        work: dict[str, Work] = {}
        approvals: list[tuple[Read, EnrollmentRecorded]] = []
        for event in events:
            message = await self._read(event)
            if message is None:
                continue
            citizen = self._work(work, event)
            if isinstance(message, SubmissionValidated):
                record = await self._record(citizen, message)
                if record is not None:
                    approvals.append((Read(event, replayed=False), record))
            elif isinstance(message, EnrollmentRejected):
                await self.rejections.reject(message)
                if message.request_id not in citizen.citizen.requests.request_ids:
                    citizen.rejected(message)
            else:
                approvals.append((Read(event, replayed=True), message))
        for round_ in approval_rounds(approvals):
            await self._approve_round(work, round_)
        await self._apply(work, since, events)

    def _work(self, work: dict[str, Work], event: Any) -> Work:
        key = event.key.decode()
        if key not in work:
            work[key] = Work(self.citizens.get(key), event)
        return work[key]

    async def _read(self, event: Any) -> InboxMessage | None:
        try:
            return DECODERS[inbox_kind(headers_of(event))].model_validate_json(event.value)
        except ValueError as error:
            await self.set_aside(event, error)
            return None

    async def _record(self, work: Work, validated: SubmissionValidated) -> EnrollmentRecorded | None:
        """The intake's second step: a repeat is dropped, a second open request refused, the rest recorded."""
        citizen = work.citizen
        decision = decide_recording(validated, citizen.requests, open_request_finished=citizen.open_request_finished(),
                                    now=utc_now())
        if isinstance(decision, Repeat):
            metrics.SUBMISSIONS.labels("repeat").inc()
            return None
        if isinstance(decision, Refuse):
            await self.rejections.reject(decision.rejected)
            work.rejected(decision.rejected)
            return None
        assert isinstance(decision, Record)
        metrics.SUBMISSIONS.labels("recorded").inc()
        work.citizen = replace(citizen, requests=decision.citizen)
        work.updates.append(update_from_recorded(decision.recorded))
        await self.recorded.send(key=validated.citizen_key.encode(), value=encode(decision.recorded))
        return decision.recorded

    async def _approve_round(self, work: dict[str, Work], items: list[tuple[Read, EnrollmentRecorded]]) -> None:
        routes: list[Route] = []
        asking: list[EnrollmentRecorded] = []
        for _read, record in items:
            citizen = work[record.citizen_key]
            route = citizen.citizen.approvals.route(record.request_id)
            routes.append(route)
            if route == Route.ASK_CENTRAL:
                citizen.updates.append(update_from_sent(record, utc_now()))
                asking.append(record)
        answers = iter(await self._decide_all(asking))
        for (read, record), route in zip(items, routes, strict=True):
            citizen = work[record.citizen_key]
            settled = settle(
                citizen.citizen.approvals, record.request_id, route=route,
                answer=next(answers) if route == Route.ASK_CENTRAL else None,
                attempts_before=int(header_text(read.event, DeadLetterHeader.ATTEMPTS) or 0),
                max_attempts=self.max_attempts, now=utc_now(),
            )
            citizen.citizen = replace(citizen.citizen, approvals=settled.citizen)
            await self._outcome(citizen, read, record, settled)

    async def _outcome(self, work: Work, read: Read, record: EnrollmentRecorded, settled: Settled) -> None:
        outcome = settled.outcome
        if isinstance(outcome, Skipped):
            metrics.DLQ_SKIPPED.inc()
        elif isinstance(outcome, Failed):
            await self._dead_letter(work, read, record, outcome, attempts=settled.attempts, parked=settled.parked)
        else:
            await self._decided(work, outcome)

    async def _decided(self, work: Work, decision: ApprovalDecided) -> None:
        """Central decided: publish it; a print-ready decision becomes a print job and a card to expect."""
        metrics.CENTRAL_DECISIONS.labels(decision.decision.value).inc()
        await self.decided.send(key=decision.citizen_key.encode(), value=encode(decision))
        work.updates.append(update_from_decided(decision))
        now = utc_now()
        job = print_job_for(decision, now)
        if job is not None:
            await self.print_jobs.send(key=job.office_code.encode(), value=encode(job))
            metrics.PRINT_JOBS.labels(str(job.priority)).inc()
            work.updates.append(update_from_print_requested(job))
        expected = expected_pickup(decision, now)
        if expected is not None:
            work.cards.append(expected)

    async def _dead_letter(self, work: Work, read: Read, record: EnrollmentRecorded, failure: Failed, *,
                           attempts: int, parked: bool) -> None:
        """To the dead-letter stream (or parked): the record as the contract shows it, the failure in headers.

        A replayed record goes back as it came, value and first failure kept: another try of the same record.
        """
        event = read.event
        first = header_text(event, DeadLetterHeader.FIRST_FAILURE_AT)
        headers = failure_headers(
            original=event, consumer_group=self.app.conf.id, stage="approval", error=failure.error,
            reason=failure.reason, attempts=attempts,
            first_failure_at=dt.datetime.fromisoformat(first) if first else failure.at, last_failure_at=failure.at,
        )
        value = event.value if read.replayed else encode(record)
        topic = self.parked if parked else self.deadletter
        await topic.send(key=record.citizen_key.encode(), value=value, headers=without_inbox_header(headers))
        if parked:
            log.warning("record parked after repeated failures; a person must look at it",
                        request_id=record.request_id, attempts=attempts)
            metrics.DLQ_PARKED_TOTAL.inc()
            work.updates.append(update_from_parked(record, failure.at, attempts))
        else:
            log.info("record dead-lettered; it waits for a replay", request_id=record.request_id,
                     reason=failure.reason, attempts=attempts)
            metrics.DLQ_DEAD_LETTERED.labels(failure.reason).inc()
            work.updates.append(update_from_dead_lettered(record, failure.at))

    async def _apply(self, work: dict[str, Work], since: int, events: list[Any]) -> None:
        """Fold each citizen's facts into their fresh entry, publish the statuses, flush, then write the entries.

        The fresh entry keeps what the other step (cards and pickup) changed meanwhile; this step's own memories
        (the intake's and the approval's) are its alone. A batch overtaken by a rebalance writes nothing.
        """
        if not work:
            return
        async with self.citizens.writing(since, events) as allowed, self.citizens.held(work):
            if not allowed:
                log.info("a rebalance took the batch's partitions: their next owner reads it again")
                leave_uncommitted(events)
                return
            changed, entries, now = Changed(), {}, utc_now()
            for key, citizen in work.items():
                fresh = self.citizens.get(key)
                entry = fold_all(replace(fresh, requests=citizen.citizen.requests, approvals=citizen.citizen.approvals),
                                 citizen.updates, changed)
                for card in citizen.cards:
                    entry = learn_of_card(entry, card, now, changed)
                entries[key] = entry
            await publish(changed, ready=self.ready, statuses=self.statuses)
            await self.app.producer.flush()
            for key, entry in entries.items():
                await self.citizens.put(key, entry, work[key].event)

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


def wire_record_and_approve(wiring: Wiring, topics: StepTopics) -> None:
    """Recording and approval: `record_and_approve`."""
    step = RecordAndApprove(wiring, topics, wiring.citizens)
    batch_size, within = wiring.settings.approval_batch_size, wiring.settings.approval_batch_within

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def record_and_approve(stream: faust.StreamT[Any]) -> None:
        """Record each citizen's submissions, ask central, publish its decisions and the print jobs."""
        try:
            # The stream faust passes is a Stream, which has take_events; its interface StreamT does not say so.
            batches = stream.take_events(batch_size, within=within)  # type: ignore[attr-defined]
            async for events in batches:
                await step.handle(events)
        finally:
            await step.central.close()

    end_batches_when_stopping(record_and_approve)
