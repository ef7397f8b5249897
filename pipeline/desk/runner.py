"""The recording desk process (`ektp desk run`): sends its outbox to the broker whenever the broker answers.

Submissions reach the outbox from `ektp enroll --desk` (another process, the same SQLite file). The desk
takes them oldest first, a batch at a time, through one idempotent producer (`acks=all`), and forgets a
batch only once every message of it is acknowledged. A desk killed between the acknowledgement and that
commit sends the batch again after its restart: the reader deduplicates by `request_id`, as the intake does.
Within a partition an idempotent producer keeps the order it was given, and a failed batch fails the ones
behind it, so a citizen's submissions reach the topic in recording order.

Whenever it can reach the broker, the desk also reports its outbox (pending, oldest, sent) on the compacted
`ektp.desk.outbox`, keyed by desk id, for the dashboard; and it writes the same, with what it knows of the
broker, to `desk.json` beside the outbox for `ektp desk status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from events.desk import DeskOutboxReported
from pipeline.config import Settings
from pipeline.desk.enroll import DESK_ROLE
from pipeline.desk.outbox import DeskError, Outbox, OutboxState, Waiting, outbox_path
from pipeline.kafka.admin import broker_answers, ensure_topics
from pipeline.kafka.security import client_options
from pipeline.logs import get_logger
from pipeline.topology.topics import DESK_OUTBOX, ENROLLMENT_SUBMITTED

log = get_logger(__name__)

BrokerState = Literal["up", "down"]


@dataclass(frozen=True)
class DeskTiming:
    """How often the desk looks at its outbox, retries the broker and reports; how much it sends at once."""

    batch: int = 500
    idle_poll: float = 0.2  # seconds between looks at an empty outbox
    retry_first: float = 0.5  # seconds before the first retry of an unanswering broker, doubled up to `retry_most`
    retry_most: float = 5.0
    report_every: float = 5.0  # seconds between reports while nothing changes
    send_timeout: float = 30.0  # seconds a batch may take to be acknowledged before the broker counts as down


def status_path(run_dir: Path, desk_id: str) -> Path:
    """The desk process's last word on its outbox and the broker, beside the outbox."""
    return outbox_path(run_dir, desk_id).parent / "desk.json"


def lock_path(run_dir: Path, desk_id: str) -> Path:
    return outbox_path(run_dir, desk_id).parent / "desk.lock"


@contextlib.contextmanager
def desk_lock(run_dir: Path, desk_id: str) -> Iterator[None]:
    """Hold the desk's lock for the life of the process: one desk process per outbox."""
    path = lock_path(run_dir, desk_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeskError(f"desk {desk_id} is already running (lock {path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def desk_running(run_dir: Path, desk_id: str) -> bool:
    """True while a desk process holds the lock of `desk_id`."""
    path = lock_path(run_dir, desk_id)
    if not path.exists():
        return False
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def report_of(desk_id: str, state: OutboxState) -> DeskOutboxReported:
    return DeskOutboxReported(desk_id=desk_id, pending=state.pending, oldest_pending_at=state.oldest_pending_at,
                              sent=state.sent)


class DeskRunner:
    """One desk's sender and reporter, until `stop()`."""

    def __init__(self, settings: Settings, desk_id: str, timing: DeskTiming | None = None) -> None:
        self.settings = settings
        self.desk_id = desk_id
        self.timing = timing or DeskTiming()
        self.outbox = Outbox(outbox_path(settings.run_dir, desk_id), desk_id)
        self.broker: BrokerState = "down"
        self._stopping = asyncio.Event()
        self._last_report: tuple[OutboxState, BrokerState] | None = None
        self._reported_at = 0.0

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Send and report until stopped; an unanswering broker is retried, never a reason to exit."""
        log.info("desk started", desk=self.desk_id, outbox=str(self.outbox.path))
        self._write_status()
        delay = self.timing.retry_first
        try:
            while not self._stopping.is_set():
                producer = await self._connect()
                if producer is None:
                    await self._pause(delay)
                    delay = min(delay * 2, self.timing.retry_most)
                    continue
                delay = self.timing.retry_first
                try:
                    await self._send_until_failure(producer)
                finally:
                    with contextlib.suppress(KafkaError, OSError):
                        await asyncio.wait_for(producer.stop(), self.timing.send_timeout)
                if not self._stopping.is_set():
                    await self._pause(delay)
        finally:
            self._write_status()
            self.close()
            log.info("desk stopped", desk=self.desk_id)

    def close(self) -> None:
        self.outbox.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _connect(self) -> AIOKafkaProducer | None:
        """An idempotent producer on a broker that answers, with the desk's topics made; None while it does not."""
        producer = AIOKafkaProducer(
            **client_options(self.settings, DESK_ROLE), client_id=f"ektp-desk-{self.desk_id}",
            acks="all", enable_idempotence=True, linger_ms=5, max_batch_size=256 * 1024,
            request_timeout_ms=int(self.timing.send_timeout * 1000),
        )
        if not await broker_answers(self.settings, role=DESK_ROLE, timeout=min(5.0, self.timing.send_timeout)):
            self._set_broker("down")
            return None
        try:
            async with asyncio.timeout(self.timing.send_timeout):
                await ensure_topics(self.settings, [ENROLLMENT_SUBMITTED, DESK_OUTBOX], role=DESK_ROLE)
                await producer.start()
        except (KafkaError, OSError, TimeoutError) as error:
            with contextlib.suppress(KafkaError, OSError):
                await producer.stop()
            if isinstance(error, TopicAuthorizationFailedError):
                log.warning("the desk's topics are missing: the desk keeps saving until the admin creates them",
                            desk=self.desk_id, error=str(error))
            elif self.broker == "up":
                log.warning("broker unreachable: the desk keeps saving", desk=self.desk_id, error=repr(error))
            self._set_broker("down")
            return None
        self._set_broker("up")
        return producer

    async def _send_until_failure(self, producer: AIOKafkaProducer) -> None:
        """Send the outbox in batches and report, until the broker fails or the desk stops."""
        while not self._stopping.is_set():
            batch = self.outbox.waiting(self.timing.batch)
            try:
                if batch:
                    await self._send(producer, batch)
                await self._report(producer, force=bool(batch))
            except (KafkaError, OSError, TimeoutError) as error:
                log.warning("sending failed: the desk keeps saving and retries", desk=self.desk_id,
                            error=repr(error))
                self._set_broker("down")
                return
            if not batch:
                await self._pause(self.timing.idle_poll)

    async def _send(self, producer: AIOKafkaProducer, batch: list[Waiting]) -> None:
        """Send `batch` in order; forget what the broker acknowledged, then fail if anything was not."""
        futures: list[asyncio.Future[object]] = []
        try:
            for item in batch:
                futures.append(await producer.send(ENROLLMENT_SUBMITTED.name, item.value, key=item.key))
            async with asyncio.timeout(self.timing.send_timeout):
                await asyncio.wait(futures)
        finally:
            acknowledged = [item for item, future in zip(batch, futures, strict=False) if _acknowledged(future)]
            self.outbox.mark_sent(acknowledged)
        failed = next((future.exception() for future in futures
                       if future.done() and not future.cancelled() and future.exception() is not None), None)
        if failed is not None:
            raise failed
        log.info("submissions sent", desk=self.desk_id, count=len(batch))

    async def drain_once(self) -> bool:
        """Send everything the outbox holds now, and report; False when the broker does not answer."""
        producer = await self._connect()
        if producer is None:
            return False
        try:
            while batch := self.outbox.waiting(self.timing.batch):
                await self._send(producer, batch)
            await self._report(producer, force=True)
        except (KafkaError, OSError, TimeoutError) as error:
            log.warning("sending failed: the rest waits at the desk", desk=self.desk_id, error=repr(error))
            self._set_broker("down")
            return False
        finally:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(producer.stop(), self.timing.send_timeout)
        return True

    async def _report(self, producer: AIOKafkaProducer, *, force: bool) -> None:
        """Publish the outbox's state when it changed, or every `report_every` seconds."""
        state = self.outbox.state()
        now = asyncio.get_running_loop().time()
        if not force and self._last_report == (state, self.broker) and now - self._reported_at < \
                self.timing.report_every:
            return
        report = report_of(self.desk_id, state)
        await producer.send_and_wait(DESK_OUTBOX.name, report.model_dump_json().encode(),
                                     key=self.desk_id.encode())
        self._last_report = (state, self.broker)
        self._reported_at = now
        self._write_status(state)

    def _set_broker(self, state: BrokerState) -> None:
        if state != self.broker:
            self.broker = state
            self._write_status()

    def _write_status(self, state: OutboxState | None = None) -> None:
        """Write `desk.json` (atomically): the outbox's state, the broker as this desk sees it, and when."""
        state = state or self.outbox.state()
        path = status_path(self.settings.run_dir, self.desk_id)
        document = {
            "desk_id": self.desk_id, "pid": os.getpid(), "broker": self.broker,
            "updated_at": dt.datetime.now(dt.UTC).isoformat(), "pending": state.pending, "sent": state.sent,
        }
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(document))
        partial.replace(path)


def _acknowledged(future: asyncio.Future[object]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
