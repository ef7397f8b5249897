"""The station process: Kafka in and out around the journal-driven engine, until SIGTERM or Ctrl-C.

Four tasks share one event loop: the job consumer (journal a batch, commit its offsets, own it), the
inventory follower (apply restocks), the print loop (engine steps) and the outbox sender (acks=all).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
from collections.abc import Iterator, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from pipeline.kafka.admin import admin_client
from pipeline.kafka.producing import RenewingProducer
from pipeline.kafka.security import client_options
from pipeline.logs import get_logger
from pipeline.processes.event_loop import event_loop_in_use
from pipeline.station.config import STATION_ROLE, StationConfig
from pipeline.station.engine import JobRecord, PrintEngine, Publish
from pipeline.station.errors import StationAlreadyRunning, StationError
from pipeline.station.inventory import InventoryReader
from pipeline.station.journal import Journal, OutboxMessage
from pipeline.station.metrics import StationMetrics
from pipeline.station.render import ensure_private_dir, remove_partial_cards
from pipeline.station.verify import ApprovalVerifier, JwksCache
from pipeline.topology.topics import PRINT_REQUESTED

log = get_logger(__name__)

SHUTDOWN_GRACE = 15.0  # seconds the current card may take to finish on SIGTERM; then it is abandoned
RETRY_DELAY = 1.0


async def wait_at_most(event: asyncio.Event, seconds: float | None) -> None:
    """Wait until `event` is set or `seconds` have passed (None: no limit); a cancellation always ends it.

    Not `asyncio.wait_for`: in Python 3.11 it returns instead of raising a cancellation that arrives just as
    the event is set (fixed in 3.12). The outbox sender waits so on an event that every printed card sets:
    with `wait_for` it could lose its cancellation at shutdown, run on, and hold the station's stop until
    SIGKILL (tests/unit/pipeline/station/test_runner_stop.py).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def cancel_until_done(tasks: Sequence[asyncio.Task[None]], *, every: float = 0.5) -> None:
    """Cancel `tasks` and wait for them to end, cancelling again any that swallowed it (see `wait_at_most`)."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _ended, pending = await asyncio.wait(pending, timeout=every)
    await asyncio.gather(*tasks, return_exceptions=True)  # collects their outcomes; all have ended


@contextlib.contextmanager
def station_lock(config: StationConfig) -> Iterator[None]:
    """One process per station: a second one would share the journal and the card counter."""
    descriptor = os.open(config.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise StationAlreadyRunning(f"station {config.station_id} already runs ({config.lock_path})") from error
        yield
    finally:
        os.close(descriptor)


class StationRunner:
    """One printing station, wired to Kafka."""

    def __init__(self, config: StationConfig) -> None:
        self.config = config
        self._stop = asyncio.Event()
        self._work = asyncio.Event()
        self._outbox = asyncio.Event()

    def stop(self) -> None:
        """Ask the station to stop: it finishes (or safely abandons) the current print."""
        self._stop.set()
        self._work.set()

    async def run(self) -> None:
        """Run until `stop()` (SIGTERM, SIGINT)."""
        config = self.config
        ensure_private_dir(config.station_dir)
        ensure_private_dir(config.out_dir)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        with station_lock(config):
            journal = Journal(config.journal_path, config.station_id)
            jwks = JwksCache(
                config.jwks_url, timeout=config.jwks_timeout, refresh_interval=config.jwks_refresh_interval,
                max_age=config.jwks_max_age, known=journal.cached_jwks(), on_fetched=journal.store_jwks,
            )
            metrics = StationMetrics(config.station_id)
            engine = PrintEngine(config, journal, ApprovalVerifier(jwks), metrics)
            try:
                await self._run(engine)
            finally:
                await jwks.close()
                metrics.close()
                journal.close()

    async def _run(self, engine: PrintEngine) -> None:
        config = self.config
        if removed := remove_partial_cards(config.out_dir):
            log.info("half-written cards removed: they were never cards", count=removed)
        async with contextlib.AsyncExitStack() as clients:
            # acks=all and idempotent; a new producer id when aiokafka's sequence breaks on a cluster.
            producer = RenewingProducer(client_options(config.settings, STATION_ROLE),
                                        client_id=f"ektp-station-{config.station_id}")
            clients.push_async_callback(producer.stop)
            try:
                await producer.start()
            except KafkaError as error:
                raise StationError(f"cannot reach Kafka at {config.settings.bootstrap_servers}: {error}") from error
            inventory = InventoryReader(config.settings, config.station_id)
            clients.push_async_callback(inventory.stop)
            await inventory.start()
            engine.start_stock(await inventory.catch_up())
            await self._settle(engine, None)
            jobs = AIOKafkaConsumer(
                PRINT_REQUESTED.name, **client_options(config.settings, STATION_ROLE), group_id=config.group_id,
                # Static membership: a restarted station takes its partitions straight back, no rebalance.
                group_instance_id=f"station-{config.station_id}", enable_auto_commit=False,
                auto_offset_reset="earliest", session_timeout_ms=config.session_timeout_ms,
                heartbeat_interval_ms=max(config.session_timeout_ms // 5, 500),
                client_id=f"ektp-station-{config.station_id}",
            )
            clients.push_async_callback(jobs.stop)
            await jobs.start()
            engine.metrics.serve(config.metrics_host, config.metrics_port)
            await self._work_until_stopped(engine, jobs, inventory, producer)
        log.info("station stopped", station_id=config.station_id)

    async def _work_until_stopped(
        self, engine: PrintEngine, jobs: AIOKafkaConsumer, inventory: InventoryReader, producer: RenewingProducer
    ) -> None:
        readers = [
            asyncio.create_task(self._consume_jobs(engine, jobs), name="consume-jobs"),
            asyncio.create_task(self._follow_inventory(engine, inventory), name="follow-inventory"),
        ]
        sender = asyncio.create_task(self._send_outbox(engine, producer), name="send-outbox")
        printer = asyncio.create_task(self._print(engine), name="print")
        everything = [*readers, sender, printer]
        config = self.config
        log.info(
            "station ready", station_id=config.station_id, office_code=config.office_code, group_id=config.group_id,
            blank_stock=engine.journal.blank_stock(), out_dir=str(config.out_dir),
            metrics_port=config.metrics_port or None, event_loop=event_loop_in_use(),
        )
        try:
            await self._until_stopped(everything)
            engine.wind_down()  # a batch in progress records what it printed and stops there
            await self._finish_print(printer)
            await cancel_until_done([sender])
            # One last flush, bounded: what is not sent now is sent, unchanged, at the next start.
            with contextlib.suppress(KafkaError, TimeoutError):
                await asyncio.wait_for(engine.flush_outbox(self._publisher(producer)), SHUTDOWN_GRACE)
        finally:
            await cancel_until_done(everything)

    async def _until_stopped(self, tasks: Sequence[asyncio.Task[None]]) -> None:
        """Wait for a stop request; a task that dies takes the station down with its error."""
        stopper = asyncio.create_task(self._stop.wait())
        done, _pending = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for task in done:
            error = None if task is stopper else task.exception()
            if error is not None:
                raise error

    async def _finish_print(self, printer: asyncio.Task[None]) -> None:
        """Let the current card finish and its batch record it; past the grace period abandon it (the journal
        makes either safe)."""
        self._work.set()
        try:
            await asyncio.wait_for(printer, SHUTDOWN_GRACE)
        except TimeoutError:
            log.warning("current print abandoned at shutdown; it resumes on restart")

    # -- the tasks

    async def _consume_jobs(self, engine: PrintEngine, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if not batches:
                continue
            records = [JobRecord(tp.partition, record.offset, record.value)
                       for tp, batch in batches.items() for record in batch]
            taken = engine.take_in(records)
            metadata = engine.claim_metadata(taken.claim)
            offsets = {tp: (batch[-1].offset + 1, metadata) for tp, batch in batches.items()}
            try:
                await consumer.commit(offsets)
            except KafkaError as error:
                # Did it reach Kafka? The group's committed offset says; until then the jobs are not ours.
                log.warning("offset commit failed; settling the batch's jobs", error=repr(error))
                await self._settle(engine, consumer)
                continue
            engine.committed(taken.claim)
            if taken.journaled:
                self._work.set()

    async def _settle(self, engine: PrintEngine, consumer: AIOKafkaConsumer | None) -> None:
        """Own or forget the jobs journaled without a known commit; read forgotten ones again if ours to read."""
        unowned = engine.journal.unowned()
        if not unowned:
            return
        partitions = sorted({row.source_partition for row in unowned})
        while True:
            try:
                async with admin_client(self.config.settings, role=STATION_ROLE) as admin:
                    found = await admin.list_consumer_group_offsets(
                        self.config.group_id,
                        partitions=[TopicPartition(PRINT_REQUESTED.name, partition) for partition in partitions],
                    )
                break
            except KafkaError as error:
                log.warning("cannot read the group's committed offsets; trying again", error=repr(error))
                await asyncio.sleep(RETRY_DELAY)
        committed = {tp.partition: (meta.offset, meta.metadata) for tp, meta in found.items() if meta.offset >= 0}
        forgotten = engine.settle_unowned(committed)
        if consumer is None:
            return
        assigned = consumer.assignment()
        rewind: dict[int, int] = {}
        for partition, offset in forgotten:
            rewind[partition] = min(offset, rewind.get(partition, offset))
        for partition, offset in rewind.items():
            tp = TopicPartition(PRINT_REQUESTED.name, partition)
            if tp in assigned:
                consumer.seek(tp, offset)

    async def _follow_inventory(self, engine: PrintEngine, inventory: InventoryReader) -> None:
        async for event in inventory.follow():
            if engine.apply_inventory(event):
                self._work.set()
                self._outbox.set()

    async def _print(self, engine: PrintEngine) -> None:
        while not self._stop.is_set():
            self._work.clear()
            if await engine.step():
                self._outbox.set()
                continue
            self._outbox.set()  # a step that found nothing may still have queued notes (waiting for blanks)
            engine.observe_if_due()
            await wait_at_most(self._work, engine.next_retry_in())

    async def _send_outbox(self, engine: PrintEngine, producer: RenewingProducer) -> None:
        publish = self._publisher(producer)
        while True:
            self._outbox.clear()
            try:
                await engine.flush_outbox(publish)
            except KafkaError as error:
                log.warning("sending to Kafka failed; trying again", error=repr(error))
                await asyncio.sleep(RETRY_DELAY)
                continue
            await wait_at_most(self._outbox, RETRY_DELAY)

    @staticmethod
    def _publisher(producer: RenewingProducer) -> Publish:
        async def publish(batch: Sequence[OutboxMessage]) -> None:
            await producer.send_all((message.topic, message.key, message.value) for message in batch)

        return publish

