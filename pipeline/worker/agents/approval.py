"""The approval step's agents: recorded enrollments to central, central's decisions to the printers.

Thin: the rules are in `processors/approval.py`, `processors/dead_letter.py` and
`processors/print_dispatch.py`. Throughput comes from batches (`take_events`) sent to central's batch
endpoint in one call (concurrency stays 1: faust-streaming #606); a call holds at most one record per
citizen and central decides its items in order, so one citizen's records reach central in order.

A record central cannot take now (refused, timeout, 5xx, 429, open breaker) is written to
`ektp.approval.deadletter` unchanged, with the failure in its headers; while a citizen has a record
waiting there, their later records are diverted behind it; a record that failed `dlq_max_attempts` times
is parked in `ektp.approval.parked`. Replays (`pipeline/deadletter/`) send records back to
`ektp.enrollment.recorded`, and a request central already decided is never asked again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

from events.approval import ApprovalDecided, DeadLetterHeader
from events.enrollment import EnrollmentRecorded
from pipeline.central import CentralClient, CentralRejected, CentralUnavailable
from pipeline.central.client import MAX_BATCH, BatchAnswer
from pipeline.config import Settings
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_DECIDED,
    APPROVAL_PARKED,
    ENROLLMENT_RECORDED,
    PRINT_REQUESTED,
    STATUS_NOTES,
)
from pipeline.worker import metrics
from pipeline.worker.agents.dead_letters import failure_headers, header_text
from pipeline.worker.agents.kafka_io import act_for, encode, end_batches_when_stopping, message_id, raw_topic
from processors.approval import decided, enrollment_for_central, refused_by_central, sent_for_enrollment
from processors.dead_letter import (
    Route,
    route_for,
    should_park,
    waiting_after_decision,
    waiting_after_failure,
)
from processors.print_dispatch import print_job_for

log = get_logger(__name__)
DECIDED_KEPT = 20  # request ids of a citizen remembered as decided: a person asks for few cards in a life


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DivertedBehindEarlierRequest(Exception):
    """The citizen has an earlier record waiting for central: this one waits behind it."""


@dataclass(frozen=True)
class Failed:
    """Not decided now: to the dead-letter stream (or parked), with why."""

    error: BaseException
    reason: str
    at: dt.datetime
    counts_as_attempt: bool = True


@dataclass(frozen=True)
class Skipped:
    """Central already decided this request (a replay or a redelivery): nothing to publish."""


@dataclass(frozen=True)
class DecidedAgain:
    """The very message central's decision was published for, read again: publish that decision once more.

    The table's write and the `decided` message are not atomic: a worker killed between the two kept the
    first and lost the second, and the message read again after the restart looked decided, so the request
    stayed at SENT_FOR_ENROLLMENT for ever (the intake had the same gap, `ektp chaos` found it there).
    Offsets are committed only once the batch is done, so a lost decision always comes back this way;
    a replay is another message and stays skipped. Central is not asked again: the stored decision,
    event id included, is sent, and every step after approval is idempotent by request_id.
    """

    decision: ApprovalDecided


Outcome = ApprovalDecided | Failed | Skipped | DecidedAgain

# In a citizen's table entry: the message their latest decision was published for, and that decision.
LAST_DECIDED = "last_decided"


class Approver:
    """Central's decision for each recorded enrollment, or a safe wait in the dead-letter stream."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.central = CentralClient(settings)
        self.central.breaker.on_change = metrics.breaker_changed
        self.decided_topic = raw_topic(app, APPROVAL_DECIDED)
        self.notes_topic = raw_topic(app, STATUS_NOTES)
        self.deadletter_topic = raw_topic(app, APPROVAL_DEADLETTER)
        self.parked_topic = raw_topic(app, APPROVAL_PARKED)
        self.citizen_approvals: TableT[str, Any] = app.Table(
            "citizen_key_to_approvals", default=None, partitions=settings.topic_partitions,
            help="Per citizen: request ids waiting for central (oldest first) and the last ones decided",
        )

    async def approve(self, events: list[Any]) -> None:
        """One batch: ask central in one call per round, publish the outcomes.

        A round holds at most one record per citizen, in order (`rounds`): a citizen's second record is
        routed only once the first's outcome is known, so it is diverted if the first must wait.
        Never raises: `take_events` acks the whole batch when its body ends, however it ends.
        """
        readable = [(event, record) for event in events if (record := await self._read(event)) is not None]
        for round_ in rounds(readable):
            for event, record, outcome in await self._approve_round(round_):
                bind_message_context(request_id=record.request_id)
                await self._publish(event, record, outcome)

    async def _approve_round(
        self, items: list[tuple[Any, EnrollmentRecorded]]
    ) -> list[tuple[Any, EnrollmentRecorded, Outcome]]:
        plans: list[tuple[Any, EnrollmentRecorded, Route, dict[str, Any]]] = []
        asking: list[EnrollmentRecorded] = []
        for event, record in items:
            memory = self.citizen_approvals.get(record.citizen_key) or {"waiting": [], "decided": []}
            route = route_for(record.request_id, waiting=tuple(memory["waiting"]),
                              decided=record.request_id in memory["decided"])
            plans.append((event, record, route, memory))
            if route == Route.ASK_CENTRAL:
                note = sent_for_enrollment(record, now())
                await self.notes_topic.send(key=record.citizen_key.encode(), value=encode(note))
                asking.append(record)
        answers = iter(await self._decide_all(asking))
        outcomes: list[tuple[Any, EnrollmentRecorded, Outcome]] = []
        for event, record, route, memory in plans:
            outcome, waiting, decided_ids = self._settle(
                event, record, route, tuple(memory["waiting"]), list(memory["decided"]), answers,
                last_decided=memory.get(LAST_DECIDED),
            )
            last = ({"by": message_id(event), "decision": outcome.model_dump(mode="json")}
                    if isinstance(outcome, ApprovalDecided) else memory.get(LAST_DECIDED))
            # A table write goes to the changelog partition of the current event: in a batch, name this one.
            act_for(event)
            self.citizen_approvals[record.citizen_key] = {"waiting": list(waiting), "decided": decided_ids,
                                                          LAST_DECIDED: last}
            outcomes.append((event, record, outcome))
        return outcomes

    def _settle(
        self, event: Any, record: EnrollmentRecorded, route: Route, waiting: tuple[str, ...], decided_ids: list[str],
        answers: Iterator[ApprovalDecided | Failed], last_decided: dict[str, Any] | None = None,
    ) -> tuple[Outcome, tuple[str, ...], list[str]]:
        """A record's outcome, and the citizen's waiting and decided request ids after it."""
        if route == Route.ALREADY_DECIDED:
            if last_decided and last_decided["by"] == message_id(event):
                return DecidedAgain(ApprovalDecided.model_validate(last_decided["decision"])), waiting, decided_ids
            return Skipped(), waiting, decided_ids
        if route == Route.DIVERT:
            error = DivertedBehindEarlierRequest(f"waits behind the citizen's earlier request {waiting[0]}")
            failure = Failed(error, "diverted", now(), counts_as_attempt=False)
            return failure, waiting_after_failure(waiting, record.request_id), decided_ids
        outcome = next(answers)
        if isinstance(outcome, ApprovalDecided):
            decided_ids = [*decided_ids, record.request_id][-DECIDED_KEPT:]
            return outcome, waiting_after_decision(waiting, record.request_id), decided_ids
        if self._parks(event, outcome):  # a person takes it out of line
            return outcome, waiting_after_decision(waiting, record.request_id), decided_ids
        return outcome, waiting_after_failure(waiting, record.request_id), decided_ids

    async def _decide_all(self, records: list[EnrollmentRecorded]) -> list[ApprovalDecided | Failed]:
        """Central's decision on each record, in order, in as few calls as central takes; never raises."""
        chunks = [records[start:start + MAX_BATCH] for start in range(0, len(records), MAX_BATCH)]
        decided_chunks = await asyncio.gather(*(self._decide_chunk(chunk) for chunk in chunks))
        return [outcome for chunk in decided_chunks for outcome in chunk]

    async def _decide_chunk(self, records: list[EnrollmentRecorded]) -> list[ApprovalDecided | Failed]:
        try:
            answers = await self.central.enroll_batch([enrollment_for_central(record) for record in records])
        except CentralRejected as refusal:  # the batch itself refused (not an item): ask for each on its own
            log.warning("central refused a batch; asking one by one", status=refusal.status, code=refusal.code)
            return list(await asyncio.gather(*(self._decide(record) for record in records)))
        except CentralUnavailable as failure:
            return [self._unavailable(failure) for _record in records]
        except Exception as error:  # a bug must not ack the batch without an outcome: dead-letter it
            log.exception("unexpected error calling central")
            return [Failed(error, "bad_response", now()) for _record in records]
        return [self._outcome_of(record, answer) for record, answer in zip(records, answers, strict=True)]

    def _outcome_of(self, record: EnrollmentRecorded, answer: BatchAnswer) -> ApprovalDecided | Failed:
        if isinstance(answer, CentralRejected):
            log.warning("central refused a record", request_id=record.request_id, status=answer.status,
                        code=answer.code)
            return refused_by_central(record, answer.status, answer.code, answer.detail, now())
        if isinstance(answer, CentralUnavailable):
            return self._unavailable(answer)
        return decided(record, decision=answer.decision, reason=answer.reason, decided_at=answer.decided_at,
                       token=answer.token, now=now())

    @staticmethod
    def _unavailable(failure: CentralUnavailable) -> Failed:
        metrics.CENTRAL_FAILURES.labels(failure.reason).inc()
        # An open breaker never reached central: it is no try of the record's own.
        return Failed(failure, failure.reason, now(), counts_as_attempt=failure.reason != "circuit_open")

    async def _decide(self, record: EnrollmentRecorded) -> ApprovalDecided | Failed:
        """Central's decision on one record, or why central could not be reached; never raises."""
        try:
            answer = await self.central.enroll(enrollment_for_central(record))
        except CentralRejected as refusal:
            return self._outcome_of(record, refusal)
        except CentralUnavailable as failure:
            return self._unavailable(failure)
        except Exception as error:  # a bug must not ack the batch without an outcome: dead-letter it
            log.exception("unexpected error calling central")
            return Failed(error, "bad_response", now())
        return self._outcome_of(record, answer)

    def _attempts(self, event: Any, failure: Failed) -> int:
        before = int(header_text(event, DeadLetterHeader.ATTEMPTS) or 0)
        return before + 1 if failure.counts_as_attempt else before

    def _parks(self, event: Any, failure: Failed) -> bool:
        return should_park(self._attempts(event, failure), self.settings.dlq_max_attempts)

    async def _publish(self, event: Any, record: EnrollmentRecorded, outcome: Outcome) -> None:
        if isinstance(outcome, Skipped):
            log.info("already decided; replay or redelivery ignored")
            metrics.DLQ_SKIPPED.inc()
        elif isinstance(outcome, DecidedAgain):
            await self.decided_topic.send(key=outcome.decision.citizen_key.encode(), value=encode(outcome.decision))
            log.warning("decision published again: its message was read again after a crash")
        elif isinstance(outcome, Failed):
            await self._dead_letter(event, outcome)
        else:
            await self.decided_topic.send(key=outcome.citizen_key.encode(), value=encode(outcome))
            log.info("central decided", decision=outcome.decision.value)
            metrics.CENTRAL_DECISIONS.labels(outcome.decision.value).inc()

    async def _read(self, event: Any) -> EnrollmentRecorded | None:
        try:
            return EnrollmentRecorded.model_validate_json(event.value)
        except ValueError as error:  # never dropped: kept, with why, for an operator
            log.exception("unreadable recorded enrollment; dead-lettered")
            await self._dead_letter(event, Failed(error, "unreadable", now()))
            return None

    async def _dead_letter(self, event: Any, failure: Failed) -> None:
        attempts = self._attempts(event, failure)
        first = header_text(event, DeadLetterHeader.FIRST_FAILURE_AT)
        headers = failure_headers(
            original=event, consumer_group=self.app.conf.id, stage="approval", error=failure.error,
            reason=failure.reason, attempts=attempts,
            first_failure_at=dt.datetime.fromisoformat(first) if first else failure.at, last_failure_at=failure.at,
        )
        parked = failure.reason != "unreadable" and should_park(attempts, self.settings.dlq_max_attempts)
        topic = self.parked_topic if parked else self.deadletter_topic
        await topic.send(key=event.key, value=event.value, headers=headers)
        if parked:
            log.warning("record parked after repeated failures; a person must look at it", attempts=attempts)
            metrics.DLQ_PARKED_TOTAL.inc()
        else:
            log.warning("record dead-lettered; it waits for a replay", reason=failure.reason, attempts=attempts)
            metrics.DLQ_DEAD_LETTERED.labels(failure.reason).inc()


def rounds(items: list[tuple[Any, EnrollmentRecorded]]) -> list[list[tuple[Any, EnrollmentRecorded]]]:
    """The batch split so that each round holds at most one record per citizen, each citizen's in order."""
    result: list[list[tuple[Any, EnrollmentRecorded]]] = []
    seen: dict[str, int] = {}
    for item in items:
        number = seen.get(item[1].citizen_key, 0)
        seen[item[1].citizen_key] = number + 1
        if number == len(result):
            result.append([])
        result[number].append(item)
    return result


def register_approval(app: faust.App, settings: Settings) -> Approver:
    """Wire the approval step into `app`."""
    approver = Approver(app, settings)

    @app.agent(raw_topic(app, ENROLLMENT_RECORDED), name="approve_enrollments", concurrency=1)
    async def approve_enrollments(stream: faust.StreamT[Any]) -> None:
        """Send each recorded enrollment to central and publish its signed decision."""
        try:
            # The stream faust passes is a Stream, which has take_events; its interface StreamT does not say so.
            batches = stream.take_events(  # type: ignore[attr-defined]
                settings.approval_batch_size, within=settings.approval_batch_within
            )
            async for events in batches:
                await approver.approve(events)
        finally:
            await approver.central.close()

    end_batches_when_stopping(approve_enrollments)
    return approver


def register_print_dispatch(app: faust.App) -> None:
    """Wire print dispatch into `app`: print-ready decisions become print jobs."""
    print_topic = raw_topic(app, PRINT_REQUESTED)

    @app.agent(raw_topic(app, APPROVAL_DECIDED), name="dispatch_print_jobs", concurrency=1)
    async def dispatch_print_jobs(stream: faust.StreamT[Any]) -> None:
        """Turn each print-ready decision into a print job for the office's printing stations."""
        async for event in stream.events():
            try:
                decision = ApprovalDecided.model_validate_json(event.value)
            except ValueError:
                log.exception("unreadable decision; no print job (the event stays in its topic)")
                continue
            job = print_job_for(decision, now())
            if job is not None:
                bind_message_context(request_id=job.request_id)
                await print_topic.send(key=job.office_code.encode(), value=encode(job))
                log.info("print job queued", priority=job.priority)
                metrics.PRINT_JOBS.labels(str(job.priority)).inc()
