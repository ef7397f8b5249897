"""The approval step's agents: recorded enrollments to central, central's decisions to the printers.

Thin: the rules are in `processors/approval.py` and `processors/print_dispatch.py`. Throughput comes from
batches (`take_events`) and concurrent calls inside one agent (concurrency stays 1: faust-streaming #606);
one citizen's records in a batch go to central one after the other, so central sees them in order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import faust

from events.approval import ApprovalDecided
from events.enrollment import EnrollmentRecorded
from pipeline import metrics
from pipeline.agents.deadletter import failure_headers
from pipeline.agents.kafka_io import encode, raw_topic
from pipeline.central import CentralClient, CentralRejected, CentralUnavailable
from pipeline.config import Settings
from pipeline.logs import bind_message_context, get_logger
from pipeline.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_DECIDED,
    ENROLLMENT_RECORDED,
    PRINT_REQUESTED,
    STATUS_NOTES,
)
from processors.approval import decided, enrollment_for_central, refused_by_central, sent_for_enrollment
from processors.print_dispatch import print_job_for

log = get_logger(__name__)

def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Unreachable:
    """Central could not be reached for this record: it goes to the dead-letter stream."""

    failure: CentralUnavailable
    at: dt.datetime


class Approver:
    """Central's decision for each recorded enrollment, published to `ektp.approval.decided`.

    A record central cannot take now (refused, timeout, 5xx, 429, open breaker) is written to
    `ektp.approval.deadletter` unchanged, with the failure in its headers, and waits there for a replay.
    """

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.central = CentralClient(settings)
        self.central.breaker.on_change = metrics.breaker_changed
        self.decided_topic = raw_topic(app, APPROVAL_DECIDED)
        self.notes_topic = raw_topic(app, STATUS_NOTES)
        self.deadletter_topic = raw_topic(app, APPROVAL_DEADLETTER)

    async def approve(self, events: list[Any]) -> None:
        """One batch: note SENT_FOR_ENROLLMENT, ask central (concurrently across citizens), publish.

        Never raises: `take_events` acks the whole batch when its body ends, however it ends.
        """
        readable = [(event, record) for event in events if (record := await self._read(event)) is not None]
        for _event, record in readable:
            note = sent_for_enrollment(record, now())
            await self.notes_topic.send(key=record.citizen_key.encode(), value=encode(note))
        by_citizen: dict[str, list[tuple[Any, EnrollmentRecorded]]] = defaultdict(list)
        for event, record in readable:
            by_citizen[record.citizen_key].append((event, record))
        groups = await asyncio.gather(*(self._decide_in_order(group) for group in by_citizen.values()))
        for event, record, outcome in (item for group in groups for item in group):
            bind_message_context(request_id=record.request_id)
            if isinstance(outcome, Unreachable):
                await self._dead_letter(event, outcome.failure, outcome.at)
                continue
            await self.decided_topic.send(key=outcome.citizen_key.encode(), value=encode(outcome))
            log.info("central decided", decision=outcome.decision.value)
            metrics.CENTRAL_DECISIONS.labels(outcome.decision.value).inc()

    async def _read(self, event: Any) -> EnrollmentRecorded | None:
        try:
            return EnrollmentRecorded.model_validate_json(event.value)
        except ValueError as error:  # never dropped: kept, with why, for an operator
            log.exception("unreadable recorded enrollment; dead-lettered")
            await self._dead_letter(event, error, now())
            return None

    async def _dead_letter(self, event: Any, error: BaseException, at: dt.datetime) -> None:
        headers = failure_headers(original=event, consumer_group=self.app.conf.id, stage="approval", error=error,
                                  attempts=1, first_failure_at=at, last_failure_at=at)
        await self.deadletter_topic.send(key=event.key, value=event.value, headers=headers)
        log.warning("central unreachable; record dead-lettered, it waits for a replay", error=str(error)[:200])

    async def _decide_in_order(
        self, group: list[tuple[Any, EnrollmentRecorded]]
    ) -> list[tuple[Any, EnrollmentRecorded, ApprovalDecided | Unreachable]]:
        outcomes = []
        for event, record in group:
            outcome = await self._decide(record)
            outcomes.append((event, record, outcome))
        return outcomes

    async def _decide(self, record: EnrollmentRecorded) -> ApprovalDecided | Unreachable:
        """Central's decision on one record, or why central could not be reached; never raises."""
        try:
            answer = await self.central.enroll(enrollment_for_central(record))
        except CentralRejected as refusal:
            log.warning("central refused a record", request_id=record.request_id, status=refusal.status,
                        code=refusal.code)
            return refused_by_central(record, refusal.status, refusal.code, refusal.detail, now())
        except CentralUnavailable as failure:
            metrics.CENTRAL_FAILURES.labels(failure.reason).inc()
            return Unreachable(failure, now())
        except Exception as error:  # a bug must not ack the batch without an outcome: dead-letter it
            log.exception("unexpected error calling central")
            return Unreachable(CentralUnavailable("bad_response", f"{type(error).__name__}: {error}"), now())
        return decided(record, decision=answer.decision, reason=answer.reason, decided_at=answer.decided_at,
                       token=answer.token, now=now())


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
