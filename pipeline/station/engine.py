"""The station's work, driven by its journal and free of Kafka: take jobs in, verify, print, report.

The runner (runner.py) feeds it records and restocks and gives it a way to publish; tests drive it the
same way with fakes. Every step reads the journal, does one thing and writes the journal, so a station
killed between any two lines resumes from the journal (recovery.py) and never prints a request twice.

A step takes every job that is ready for it, up to `StationConfig.batch_size`, and makes its durable
change for all of them in one synced transaction (group commit): one for the batch's verdicts, one that
reserves the batch's blanks (the jobs are then `printing`), and, once the batch's cards are written (temp
files, synced together, renamed into place: render.py), one that records them `printed` with their
print.completed in the outbox. With one job ready a batch is that job, so a lone card waits for nothing.
Between the reserving and the recording transactions every job of the batch is `printing`, with or without
its card file, which is the state recovery settles for a single card; a batch that prints for longer than
`StationConfig.batch_record_after` records the cards printed so far before it goes on, so that no card
waits for the rest of its batch to be reported.

At info level a batch logs one line naming the cards it printed, and a card found printed after a restart or
misprinted one line of its own, besides every warning and alert; the steps before (journaled, verified, blank
reserved) log at debug, since the journal keeps them. A line per card would take a good part of the station's
CPU at full pace.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from events.common import WIB, utc_now
from events.printing import PrintRequested, StationInventory
from pipeline.logs import bind_message_context, get_logger
from pipeline.station.config import StationConfig
from pipeline.station.crash import CrashPoint
from pipeline.station.errors import JwksUnavailable
from pipeline.station.journal import IncomingJob, JobRow, Journal, OutboxMessage
from pipeline.station.metrics import StationMetrics
from pipeline.station.queue import QueuedJob
from pipeline.station.recovery import Ownership, Resume, resume_action, settle_ownership
from pipeline.station.render import (
    card_path,
    card_png,
    fsync_folder,
    instant_png,
    place_card,
    sync_files,
    write_partial,
)
from pipeline.station.verify import Refused, Verdict, Verified
from pipeline.topology.topics import PRINT_COMPLETED

log = get_logger(__name__)


OBSERVE_EVERY = 0.5  # seconds between two updates of the journal gauges while the station is busy
PARSED_KEPT = 5_000  # jobs kept parsed between intake and verification; more are parsed again from the journal

Publish = Callable[[Sequence[OutboxMessage]], Awaitable[None]]


class Verifier(Protocol):
    """Tells whether a job's approval is central's (verify.ApprovalVerifier)."""

    async def verify(self, job: PrintRequested) -> Verdict: ...


@dataclass(frozen=True)
class JobRecord:
    """A record of `ektp.print.requested` as the consumer read it."""

    partition: int
    offset: int
    value: bytes | None


@dataclass
class _PrintResults:
    """What a print batch did and has not recorded yet: cards (row, printed_at, found after a restart), misprints."""

    printed: list[tuple[JobRow, dt.datetime, bool]] = field(default_factory=list)
    misprinted: list[JobRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.printed) + len(self.misprinted)


@dataclass(frozen=True)
class BatchTaken:
    """What a batch of records came to: the claim its journaled jobs wait under, and how many were skipped."""

    claim: str
    journaled: int
    skipped: int


def decode_job(value: bytes | None) -> PrintRequested | None:
    """The job in a record, or None when it is unreadable. A missing token is kept: verification refuses it."""
    if value is None:
        return None
    try:
        return PrintRequested.model_validate_json(value)  # the common case, parsed once
    except ValidationError:
        pass
    try:
        document = json.loads(value)
        if isinstance(document, dict) and not document.get("approval_token"):
            document["approval_token"] = ""  # refused below as a security alert, not dropped as unreadable
        return PrintRequested.model_validate(document)
    except (ValueError, ValidationError):
        return None


class PrintEngine:
    """One station's print work over its journal."""

    def __init__(
        self, config: StationConfig, journal: Journal, verifier: Verifier, metrics: StationMetrics,
        *, clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.config = config
        self.journal = journal
        self.verifier = verifier
        self.metrics = metrics
        self.crash = config.crash_hook
        self.clock = clock
        self._observed_at = -OBSERVE_EVERY
        self._observe_due = False
        self._winding_down = False
        # The jobs this life journaled, as intake parsed them, until verified: verification takes them from here
        # instead of parsing the journal's copy again. Only a cache: the journal is the truth, and a job not here
        # (journaled before a restart, or dropped with the rest past `PARSED_KEPT`) is parsed from it.
        self._parsed: dict[str, PrintRequested] = {}
        # write_partial fsyncs the half-written card before it runs `halfway`, so that the hook kills the station
        # with half a card on disk; only a hook set at mid_render needs that, every other station spares it.
        self._mid_render: Callable[[], None] | None = None
        if self.crash.point is CrashPoint.MID_RENDER:
            self._mid_render = lambda: self.crash.reached(CrashPoint.MID_RENDER)

    # -- intake

    def claim_metadata(self, claim: str) -> str:
        """The offset commit's metadata: says whose commit it was (recovery.settle_ownership)."""
        return f"{self.config.station_id}/{claim}"

    def is_ours(self, job: PrintRequested) -> bool:
        """Jobs of our office meant for any of its stations, or for this one."""
        return job.office_code == self.config.office_code and job.station_id in (None, self.config.station_id)

    def take_in(self, records: Sequence[JobRecord]) -> BatchTaken:
        """Journal this station's jobs of a batch under a new claim; count the rest as skipped."""
        claim = uuid.uuid4().hex
        incoming: list[IncomingJob] = []
        skipped = 0
        for record in records:
            job = decode_job(record.value)
            if job is None:
                log.error("unreadable print job skipped", partition=record.partition, offset=record.offset)
                self.metrics.skipped("unreadable")
                skipped += 1
            elif not self.is_ours(job):
                self.metrics.skipped("other_office" if job.office_code != self.config.office_code else "other_station")
                skipped += 1
            else:
                incoming.append(IncomingJob.of(job, record.partition, record.offset))
        fresh = self.journal.accept(incoming, claim) if incoming else []
        for item in incoming:
            if item.job_key in fresh:
                self._parsed[item.job_key] = item.job
                log.debug("print job journaled", request_id=item.job.request_id, job_id=item.job.job_id,
                         priority=item.job.priority)
        if len(self._parsed) > PARSED_KEPT:
            self._parsed.clear()
        return BatchTaken(claim, len(incoming), skipped)

    def committed(self, claim: str) -> None:
        """The offset commit of `claim` went through: its jobs are ours."""
        self.crash.reached(CrashPoint.AFTER_COMMIT)
        self.journal.mark_owned(claim)

    def settle_unowned(self, committed: Mapping[int, tuple[int, str]]) -> list[tuple[int, int]]:
        """Decide each unowned job from the group's committed (offset, metadata) by partition.

        Returns the (partition, offset) of the jobs forgotten: the consumer reads them again if it holds the
        partition.
        """
        owned: list[str] = []
        forgotten: list[str] = []
        positions: list[tuple[int, int]] = []
        for row in self.journal.unowned():
            offset, metadata = committed.get(row.source_partition, (None, None))
            decision = settle_ownership(
                job_offset=row.source_offset, claim_metadata=self.claim_metadata(row.claim),
                committed_offset=offset, committed_metadata=metadata,
            )
            if decision is Ownership.OURS:
                owned.append(row.job_key)
                continue
            forgotten.append(row.job_key)
            positions.append((row.source_partition, row.source_offset))
            if decision is Ownership.PASSED_BY_ANOTHER:
                log.warning("job left to another station: its commit is not ours", request_id=row.request_id,
                            job_id=row.job_id, committed_by=metadata)
        self.journal.settle(owned, forgotten)
        return positions

    # -- stock

    def start_stock(self, history: Sequence[StationInventory]) -> None:
        """Set or bring the stock up to date from this station's inventory events (oldest first), then publish it.

        A new journal takes the latest published stock (restocks before it are in it); an existing journal
        applies the restocks it has not seen. Either way the corrected total goes out.
        """
        mine = [event for event in history if event.station_id == self.config.station_id]
        if not self.journal.has_stock():
            stock = mine[-1].blank_stock if mine else self.config.initial_blanks
            self.journal.init_stock(stock, [str(event.event_id) for event in mine if event.reason == "restock"])
        else:
            for event in mine:
                self.apply_inventory(event)
        self.journal.publish_count()
        self.observe(force=True)

    def apply_inventory(self, event: StationInventory) -> bool:
        """Apply a restock of this station once (its corrected total goes to the outbox); True when applied."""
        if event.station_id != self.config.station_id or event.reason != "restock":
            return False
        if not self.journal.apply_restock(event):
            return False
        log.info("blanks restocked", change=event.change, blank_stock=self.journal.blank_stock(),
                 restock_event_id=str(event.event_id))
        self.observe(force=True)
        return True

    # -- the print work

    def wind_down(self) -> None:
        """The station is stopping: a batch in progress records what it has done and takes no further job.

        The jobs it leaves are in the journal as they stood (`received`, or `printing` without a card
        file), and the next start takes them up.
        """
        self._winding_down = True

    async def step(self) -> bool:
        """Do the next piece of work on a batch of jobs; False when there is none right now.

        The work furthest along goes first: printing, then blanks for verified jobs, then verification, so a
        steady stream of new jobs cannot hold back the ones already verified. While blanks are short, every
        job due is verified before any blank is given, so that the queue's rule (first-time cards first)
        weighs them all.
        """
        if self._winding_down:
            return False
        printing = self.journal.printing(self.config.batch_size)
        if printing:
            await self._print(printing)
            return True
        if self.journal.blank_stock() >= self.journal.before_printing() and self._assign_blanks():
            return True
        received = self.journal.due_for_verification(time.time(), self.config.batch_size)
        if received:
            await self._verify(received)
            return True
        return self._assign_blanks()

    def next_retry_in(self) -> float | None:
        """Seconds until a deferred verification is due; None when none is waiting."""
        due = self.journal.next_verification_due()
        return None if due is None else max(due - time.time(), 0.0)

    async def _verify(self, rows: Sequence[JobRow]) -> None:
        """Check each job's approval, then journal every verdict of the batch in one transaction."""
        verdicts: list[tuple[JobRow, Verdict | None]] = []  # None: central's keys unavailable, try again later
        for row in rows:
            if self._winding_down:
                break
            bind_message_context(station_id=self.config.station_id, request_id=row.request_id, job_id=row.job_id)
            try:
                job = self._parsed.pop(row.job_key, None) or row.job()
                verdicts.append((row, await self.verifier.verify(job)))
            except JwksUnavailable as error:
                log.warning("approval not verifiable now: central's keys unavailable; job waits", error=str(error))
                verdicts.append((row, None))
        self.journal.record_verdicts(
            verified=[(row.job_key, verdict.kid) for row, verdict in verdicts if isinstance(verdict, Verified)],
            refused=[(row.job_key, verdict.reason.value, verdict.kid)
                     for row, verdict in verdicts if isinstance(verdict, Refused)],
            deferred=[row.job_key for row, verdict in verdicts if verdict is None],
            retry_at=time.time() + self.config.verify_retry,
        )
        for row, verdict in verdicts:
            bind_message_context(station_id=self.config.station_id, request_id=row.request_id, job_id=row.job_id)
            if isinstance(verdict, Refused):
                self.metrics.refused(verdict.reason.value)
                log.critical("SECURITY ALERT forged approval", request_id=row.request_id, job_id=row.job_id,
                             kid=verdict.kid, reason=verdict.reason.value, detail=verdict.detail,
                             office_code=row.office_code)
            elif isinstance(verdict, Verified):
                self.crash.reached(CrashPoint.AFTER_VERIFY)
                log.debug("approval verified", kid=verdict.kid)
        self.observe()

    def _assign_blanks(self) -> bool:
        """Reserve blanks for the next batch of queued jobs, in the queue's order, in one transaction."""
        queue = self.journal.queue_head(self.config.batch_size)
        if not queue.length:
            return False
        stock = self.journal.blank_stock()
        if stock <= 0:
            for row in self.journal.mark_waiting():
                # Each line names its own job: the context bound last belongs to another one.
                bind_message_context(station_id=self.config.station_id, request_id=row.request_id, job_id=row.job_id)
                log.info("out of blanks: job waits", job_key=row.job_key)
            self.observe()
            return False  # nothing more to do until a restock
        chosen: list[QueuedJob] = []
        duplicates: list[QueuedJob] = []
        carded: set[str] = set()  # requests that get a card in this batch
        while len(chosen) + len(duplicates) < self.config.batch_size:
            # The queue's rule, blank by blank: the job the next blank goes to with the stock left then.
            job = queue.take_next(stock - len(chosen))
            if job is None:
                break
            if job.request_id in carded or self.journal.request_has_card(job.request_id, job.job_key):
                duplicates.append(job)
            else:
                chosen.append(job)
                carded.add(job.request_id)
        reserved = self.journal.reserve_blanks(
            [job.job_key for job in chosen], duplicates=[job.job_key for job in duplicates],
            halfway=lambda: self.crash.reached(CrashPoint.MID_RESERVE),
        )
        for duplicate in duplicates:
            bind_message_context(station_id=self.config.station_id, request_id=duplicate.request_id,
                                 job_key=duplicate.job_key)
            log.warning("second job for a request that already has a card: not printed")
        for row in reserved:
            bind_message_context(station_id=self.config.station_id, request_id=row.request_id, job_key=row.job_key)
            self.crash.reached(CrashPoint.AFTER_RESERVE)
            log.debug("blank reserved", card_serial=row.card_serial, blank_serial=row.blank_serial)
        self.observe()
        return True

    async def _print(self, rows: Sequence[JobRow]) -> None:
        """Print a batch of reserved jobs, then record the results in one transaction.

        A job whose card file already exists was printed before a restart: it is recorded, never printed
        again. The others' cards are written off the event loop (`_write_cards`), then renamed into place
        on it. A batch whose cards take longer than `batch_record_after` to write records what it has
        printed so far and goes on with the rest.
        """
        batch = _PrintResults()
        to_print: list[JobRow] = []
        for row in rows:
            assert row.card_serial is not None  # a job in `printing` has its serials
            png = card_path(self.config.out_dir, row.card_serial)
            if resume_action(row.state, owned=row.owned, png_exists=png.exists()) is Resume.COUNT_AS_PRINTED:
                # Killed after the card came out and before the journal said so: it is printed, once.
                batch.printed.append((row, dt.datetime.fromtimestamp(png.stat().st_mtime, dt.UTC), True))
            elif self._misprinted(row):
                batch.misprinted.append(row)
            else:
                to_print.append(row)
        while to_print and not self._winding_down:
            written = await asyncio.to_thread(self._write_cards, to_print)
            to_print = to_print[len(written):]
            for row, printed_at, partial in written:
                place_card(partial)
                self.crash.reached(CrashPoint.AFTER_PNG)
                batch.printed.append((row, printed_at, False))
            if to_print:
                self._record(batch)
                batch = _PrintResults()
        self._record(batch)

    def _write_cards(self, rows: Sequence[JobRow]) -> list[tuple[JobRow, dt.datetime, Path]]:
        """Write the rows' cards as temp files in order, then sync them together; runs on a thread.

        Stops early when the station winds down or `batch_record_after` has passed, so that the cards
        written so far are placed and recorded first. Returns the cards written, each with its print time.
        A file's creation and flush wait on the file system: off the loop, they do not hold up the
        station's intake and reports.
        """
        written: list[tuple[JobRow, dt.datetime, Path]] = []
        deadline = time.monotonic() + self.config.batch_record_after
        for row in rows:
            if self._winding_down or (written and time.monotonic() >= deadline):
                break
            assert row.card_serial is not None
            printed_at = self.clock()
            if self.config.instant:
                png = instant_png()
            else:
                png = card_png(row.job().card, card_serial=row.card_serial,
                               issued_on=printed_at.astimezone(WIB).date())
            written.append((row, printed_at, write_partial(self.config.out_dir, row.card_serial, png,
                                                           halfway=self._mid_render)))
        sync_files([partial for _row, _printed_at, partial in written])
        return written

    def _record(self, batch: _PrintResults) -> None:
        """One transaction for the batch's printed cards (with their print.completed) and misprints."""
        if not batch:
            return
        if batch.printed:
            fsync_folder(self.config.out_dir)  # the batch's card files are durable before the journal says so
        self.journal.record_prints(
            [(row.job_key, printed_at) for row, printed_at, _found in batch.printed],
            [row.job_key for row in batch.misprinted],
            halfway=lambda: self.crash.reached(CrashPoint.MID_RECORD),
        )
        self.crash.reached(CrashPoint.AFTER_RECORD)
        self.metrics.cards_printed(len(batch.printed))
        for row, _printed_at, found in batch.printed:
            if found:
                bind_message_context(station_id=self.config.station_id, request_id=row.request_id, job_id=row.job_id)
                log.info("card found printed after a restart", card_serial=row.card_serial)
        if printed := [row.card_serial for row, _printed_at, found in batch.printed if not found]:
            bind_message_context(station_id=self.config.station_id)
            log.info("cards printed", count=len(printed), card_serials=printed)
        for row in batch.misprinted:
            bind_message_context(station_id=self.config.station_id, request_id=row.request_id, job_id=row.job_id)
            self.metrics.misprint()
            log.warning("misprint: blank spoiled", blank_serial=row.blank_serial)
        self.observe()

    def _misprinted(self, row: JobRow) -> bool:
        if self.config.misprint_rate <= 0:
            return False
        # Seeded per job and attempt: the same run of misprints every time, a restart included.
        chance = random.Random(f"{self.config.misprint_seed}/{row.job_key}/{row.misprints}").random()  # noqa: S311
        return chance < self.config.misprint_rate

    # -- reporting

    async def flush_outbox(self, publish: Publish) -> int:
        """Send what the journal owes Kafka, oldest first; each is marked sent only once acknowledged."""
        sent = 0
        while batch := self.journal.unsent():
            await publish(batch)
            for message in batch:
                if message.topic == PRINT_COMPLETED.name:
                    self.crash.reached(CrashPoint.AFTER_REPORT)
            self.journal.mark_all_sent(batch)
            sent += len(batch)
        if sent:
            self.observe(force=True)
        return sent

    def observe(self, *, force: bool = False) -> None:
        """Set the journal gauges, at most every `OBSERVE_EVERY` seconds unless forced.

        Counting the journal's jobs by state reads its whole index: doing it after every step would make a
        long run of jobs quadratic. The runner forces it whenever the station goes idle.
        """
        now = time.monotonic()
        if not force and now - self._observed_at < OBSERVE_EVERY:
            self._observe_due = True
            return
        self._observed_at, self._observe_due = now, False
        self.metrics.observe_journal(self.journal.state_counts(), self.journal.blank_stock())

    def observe_if_due(self) -> None:
        """Catch the gauges up with a change `observe` skipped."""
        if self._observe_due:
            self.observe(force=True)
