"""The station's durable journal (sqlite, WAL, synchronous=FULL): its source of truth.

One row per print-job message (`job_key`: its job_id and a digest of its content), moving through
`JobState` (recovery.py); the blank stock and the card and blank counters; the restock events already
applied (deduplicated by event_id); and an outbox of every message the station owes Kafka
(print.completed, inventory, status notes), written in the same transaction as the change it reports,
sent later and re-sent unchanged (same event_id) after a crash.

Every method is one transaction, so a SIGKILL leaves the journal before or after it, never between.
The print work's methods take a batch of jobs (group commit): verdicts, blank reservations and printed
cards are each one synced transaction for the whole batch, and each job's row still moves on its own, so
recovery settles a batch's jobs one by one as it settles a single job.
The file holds card data (personal data) until a job is reported: it lives in the station's 0700 folder,
and the card data of a reported job is erased (`payload` set to NULL), keeping only ids and serials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from events.common import utc_now
from events.printing import CardPrinted, PrintRequested, StationInventory
from events.status import StatusNoted
from pipeline.station.errors import StationError
from pipeline.station.queue import QueuedJob, QueueHead
from pipeline.station.recovery import JobState
from pipeline.topology.topics import PRINT_COMPLETED, STATION_INVENTORY, STATUS_NOTES

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    blank_stock INTEGER NOT NULL CHECK (blank_stock >= 0),
    cards_issued INTEGER NOT NULL,
    blanks_used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_key TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    arrival INTEGER NOT NULL UNIQUE,
    request_id TEXT NOT NULL,
    citizen_key TEXT NOT NULL,
    office_code TEXT NOT NULL,
    priority INTEGER NOT NULL,
    payload TEXT,
    payload_sha256 TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset INTEGER NOT NULL,
    claim TEXT NOT NULL,
    owned INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    kid TEXT,
    note TEXT,
    card_serial TEXT UNIQUE,
    blank_serial TEXT,
    misprints INTEGER NOT NULL DEFAULT 0,
    waiting_noted INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, owned, arrival);
CREATE INDEX IF NOT EXISTS jobs_by_job_id ON jobs(job_id);
-- Jobs waiting for their offset commit, by claim: `mark_owned` touches a batch, not the whole history.
CREATE INDEX IF NOT EXISTS unowned_by_claim ON jobs(claim) WHERE owned = 0;
-- Never two cards for one request, whatever happens above this line.
CREATE UNIQUE INDEX IF NOT EXISTS one_card_per_request ON jobs(request_id) WHERE card_serial IS NOT NULL;
CREATE TABLE IF NOT EXISTS restocks (event_id TEXT PRIMARY KEY, change INTEGER NOT NULL, applied INTEGER NOT NULL,
                                     seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    job_key TEXT,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(sent, seq);
"""

# The namespace of the deterministic event ids of print.completed: a re-sent card is the same event.
CARD_EVENT_NAMESPACE = uuid.UUID("5b0c1f8e-2d7a-4c39-9e0b-6f1d2a3b4c5d")
REFUSAL_NOTE = "print refused: approval signature invalid"
WAITING_NOTE = "waiting for blank cards at the printing station"


@dataclass(frozen=True)
class IncomingJob:
    """A decoded print job as read from Kafka, with where it was read."""

    job: PrintRequested
    payload: str  # the job as the journal keeps it
    payload_sha256: str
    partition: int
    offset: int

    @classmethod
    def of(cls, job: PrintRequested, partition: int, offset: int) -> IncomingJob:
        payload = job.model_dump_json()
        return cls(job, payload, hashlib.sha256(payload.encode()).hexdigest(), partition, offset)

    @property
    def job_key(self) -> str:
        """The journal's key: the same message read twice is one row; another message under the same job id
        (a forged copy, say) is a row of its own, verified on its own, and cannot displace the genuine one."""
        return f"{self.job.job_id}#{self.payload_sha256[:24]}"


@dataclass(frozen=True)
class JobRow:
    """One journaled job."""

    job_key: str
    job_id: str
    request_id: str
    citizen_key: str
    office_code: str
    priority: int
    arrival: int
    state: JobState
    owned: bool
    claim: str
    source_partition: int
    source_offset: int
    card_serial: str | None
    blank_serial: str | None
    misprints: int
    kid: str | None
    payload: str | None
    payload_sha256: str

    def job(self) -> PrintRequested:
        """The print job itself (only while the job is not reported: the card data is erased after)."""
        if self.payload is None:
            raise StationError(f"job {self.job_id}: card data already erased (state {self.state})")
        return PrintRequested.model_validate_json(self.payload)


JOB_ROW_FIELDS = tuple(field.name for field in fields(JobRow))  # each a column of `jobs`
STATE_FIELD, OWNED_FIELD = JOB_ROW_FIELDS.index("state"), JOB_ROW_FIELDS.index("owned")


@dataclass(frozen=True)
class OutboxMessage:
    """A message the station owes Kafka."""

    seq: int
    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    job_key: str | None


def now_text() -> str:
    return utc_now().isoformat()


def card_event_id(station_id: str, request_id: str, card_serial: str) -> uuid.UUID:
    """The event id of a card's print.completed: derived from the card, so every re-send is the same event."""
    return uuid.uuid5(CARD_EVENT_NAMESPACE, f"{station_id}/{request_id}/{card_serial}")


def _half(count: int) -> int:
    """After how many of `count` rows a transaction is half written (1 of 1: the only row, before the commit)."""
    return (count + 1) // 2


# The jobs of a batch, its keys given as one JSON array: one query, each key looked up by the primary key.
JOBS_NAMED = "SELECT * FROM jobs WHERE job_key IN (SELECT value FROM json_each(?))"
# The queue for blanks (verified or waiting, owned), in each order of the queue's rule (queue.next_to_print).
QUEUED = "SELECT job_key, request_id, priority, arrival FROM jobs WHERE state IN (?, ?) AND owned = 1"
QUEUED_BY_ARRIVAL = QUEUED + " ORDER BY arrival LIMIT ?"
QUEUED_BY_PRIORITY = QUEUED + " ORDER BY priority, arrival LIMIT ?"

# Reads through `unowned_by_claim`: one batch's rows, however long the journal's history.
MARK_OWNED = "UPDATE jobs SET owned = 1 WHERE claim = ? AND owned = 0"


class Journal:
    """The journal of one station. Not shared between processes (the station holds a file lock)."""

    def __init__(self, path: Path, station_id: str) -> None:
        self.path = path
        self.station_id = station_id
        if not path.exists():
            # Card data is personal: the journal (and the WAL files sqlite gives the same mode) is 0600.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a transaction that returned is on disk, even when the machine loses power afterwards.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        with self._tx():
            owner = self._meta("station_id")
            if owner is None:
                self._set_meta("station_id", station_id)
                self._set_meta("schema_version", str(SCHEMA_VERSION))
            elif owner != station_id:
                raise StationError(f"{path} is the journal of station {owner}, not {station_id}")

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- meta

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                         (key, value, value))

    def cached_jwks(self) -> dict[str, Any] | None:
        """Central's JWK Set as last fetched (public keys): lets a restarted station verify during an outage."""
        raw = self._meta("jwks")
        return None if raw is None else dict(json.loads(raw))

    def store_jwks(self, jwks: dict[str, Any]) -> None:
        with self._tx():
            self._set_meta("jwks", json.dumps(jwks, sort_keys=True))

    # -- jobs in: journal, then own once the offset commit went through

    def accept(self, incoming: Sequence[IncomingJob], claim: str) -> list[str]:
        """Journal a batch of jobs under `claim` (not owned until `mark_owned`); the keys of the new ones.

        A message already journaled and owned is a redelivery and is left as it is; one journaled under a
        commit that did not go through is taken under this claim.
        """
        fresh: list[str] = []
        with self._tx() as db:
            for item in incoming:
                row = db.execute("SELECT owned FROM jobs WHERE job_key = ?", (item.job_key,)).fetchone()
                values = self._row_values(item, claim)
                if row is None:
                    arrival = db.execute("SELECT COALESCE(MAX(arrival), 0) + 1 FROM jobs").fetchone()[0]
                    db.execute(
                        "INSERT INTO jobs(job_key, job_id, arrival, request_id, citizen_key, office_code, priority,"
                        " payload, payload_sha256, source_partition, source_offset, claim, state, updated_at)"
                        " VALUES (:job_key, :job_id, :arrival, :request_id, :citizen_key, :office_code, :priority,"
                        " :payload, :payload_sha256, :partition, :offset, :claim, :state, :now)",
                        {**values, "arrival": arrival},
                    )
                    fresh.append(item.job_key)
                elif not row["owned"]:
                    db.execute("UPDATE jobs SET source_partition = :partition, source_offset = :offset,"
                               " claim = :claim, updated_at = :now WHERE job_key = :job_key", values)
                    fresh.append(item.job_key)
        return fresh

    @staticmethod
    def _row_values(item: IncomingJob, claim: str) -> dict[str, Any]:
        job = item.job
        return {
            "job_key": item.job_key, "job_id": job.job_id, "request_id": job.request_id,
            "citizen_key": job.citizen_key, "office_code": job.office_code, "priority": job.priority,
            "payload": item.payload, "payload_sha256": item.payload_sha256,
            "partition": item.partition, "offset": item.offset, "claim": claim,
            "state": JobState.RECEIVED.value, "now": now_text(),
        }

    def mark_owned(self, claim: str) -> None:
        """The offset commit of `claim` went through: its jobs are this station's to print."""
        with self._tx() as db:
            db.execute(MARK_OWNED, (claim,))

    def settle(self, owned: Iterable[str], forgotten: Iterable[str]) -> None:
        """After a restart: jobs whose commit went through become owned, the others are forgotten."""
        with self._tx() as db:
            for job_key in owned:
                db.execute("UPDATE jobs SET owned = 1 WHERE job_key = ?", (job_key,))
            for job_key in forgotten:
                db.execute("DELETE FROM jobs WHERE job_key = ? AND owned = 0", (job_key,))

    def unowned(self) -> list[JobRow]:
        """Jobs journaled whose offset commit is not known to have gone through."""
        return self._jobs("SELECT * FROM jobs WHERE owned = 0 ORDER BY arrival")

    # -- verification

    def due_for_verification(self, now: float, limit: int) -> list[JobRow]:
        """The owned jobs whose approval is to be checked now, oldest first, at most `limit`."""
        return self._jobs("SELECT * FROM jobs WHERE state = ? AND owned = 1 AND next_attempt_at <= ?"
                          " ORDER BY arrival LIMIT ?", (JobState.RECEIVED.value, now, limit))

    def next_verification_due(self) -> float | None:
        """When the earliest deferred verification is due, in `time.time()` seconds; None when none waits."""
        row = self._db.execute("SELECT MIN(next_attempt_at) FROM jobs WHERE state = ? AND owned = 1",
                               (JobState.RECEIVED.value,)).fetchone()
        return None if row[0] is None else float(row[0])

    def record_verdicts(
        self, *, verified: Sequence[tuple[str, str]] = (), refused: Sequence[tuple[str, str, str | None]] = (),
        deferred: Sequence[str] = (), retry_at: float = 0.0,
    ) -> None:
        """A batch's verdicts in one transaction: verified (job_key, kid); refused (job_key, reason, kid); deferred.

        Refused is for good: never printed, the status tracker gets a note, the card data is erased. Deferred
        jobs (central's keys unavailable) are tried again from `retry_at`.
        """
        with self._tx() as db:
            now = now_text()
            rows = self._require_all(db, [job_key for job_key, _kid in verified]
                                     + [job_key for job_key, _reason, _kid in refused], JobState.RECEIVED)
            db.executemany("UPDATE jobs SET state = ?, kid = ?, updated_at = ? WHERE job_key = ?",
                           [(JobState.VERIFIED.value, kid, now, job_key) for job_key, kid in verified])
            for job_key, reason, refusing_kid in refused:
                row = rows[job_key]
                db.execute("UPDATE jobs SET state = ?, note = ?, kid = ?, payload = NULL, updated_at = ?"
                           " WHERE job_key = ?", (JobState.REFUSED.value, reason, refusing_kid, now, job_key))
                self._add_status_note(db, row, "PRINT_QUEUED", REFUSAL_NOTE, suffix=f"refused/{row.payload_sha256}")
            db.executemany("UPDATE jobs SET next_attempt_at = ?, updated_at = ? WHERE job_key = ?",
                           [(retry_at, now, job_key) for job_key in deferred])

    def defer_verification(self, job_key: str, retry_at: float) -> None:
        """Try the job's verification again from `retry_at` (`time.time()` seconds)."""
        self.record_verdicts(deferred=[job_key], retry_at=retry_at)

    # -- the queue for blanks

    def before_printing(self) -> int:
        """How many owned jobs are still to be given a blank: received (verified or not yet) or waiting."""
        row = self._db.execute("SELECT COUNT(*) FROM jobs WHERE state IN (?, ?, ?) AND owned = 1",
                               (JobState.RECEIVED.value, JobState.VERIFIED.value, JobState.WAITING.value)).fetchone()
        return int(row[0])

    def queue_head(self, size: int) -> QueueHead:
        """The queue's length and its first `size` jobs in each order of the queue's rule (queue.QueueHead)."""
        states = (JobState.VERIFIED.value, JobState.WAITING.value)
        length = self._db.execute("SELECT COUNT(*) FROM jobs WHERE state IN (?, ?) AND owned = 1", states).fetchone()
        return QueueHead(int(length[0]), self._queued(QUEUED_BY_ARRIVAL, size), self._queued(QUEUED_BY_PRIORITY, size))

    def _queued(self, sql: str, limit: int) -> list[QueuedJob]:
        rows = self._db.execute(sql, (JobState.VERIFIED.value, JobState.WAITING.value, limit)).fetchall()
        return [QueuedJob(row["job_key"], row["request_id"], int(row["priority"]), int(row["arrival"]))
                for row in rows]

    def mark_waiting(self) -> list[JobRow]:
        """Out of blanks: every verified job waits; the ones never noted get one WAITING_FOR_BLANKS note, and
        are returned."""
        with self._tx() as db:
            rows = self._jobs_in(db, "SELECT * FROM jobs WHERE state = ? AND owned = 1 ORDER BY arrival",
                                 (JobState.VERIFIED.value,))
            noted = []
            for row in rows:
                first = not db.execute("SELECT waiting_noted FROM jobs WHERE job_key = ?",
                                       (row.job_key,)).fetchone()[0]
                db.execute("UPDATE jobs SET state = ?, waiting_noted = 1, updated_at = ? WHERE job_key = ?",
                           (JobState.WAITING.value, now_text(), row.job_key))
                if first:
                    self._add_status_note(db, row, "WAITING_FOR_BLANKS", WAITING_NOTE, suffix="waiting")
                    noted.append(row)
        return noted

    def request_has_card(self, request_id: str, job_key: str) -> bool:
        """True when another job of the same request already holds a card serial."""
        row = self._db.execute("SELECT 1 FROM jobs WHERE request_id = ? AND job_key != ? AND card_serial IS NOT NULL",
                               (request_id, job_key)).fetchone()
        return row is not None

    # -- blanks and printing

    def reserve_blanks(
        self, job_keys: Sequence[str], *, duplicates: Sequence[str] = (), halfway: Callable[[], None] | None = None,
    ) -> list[JobRow]:
        """Take a blank for each job, in order, in one transaction; the jobs now `printing`, as reserved.

        Each job gets a blank, a card serial (kept from an earlier attempt) and a blank serial; the batch's
        one inventory event goes to the outbox (the blanks it took, the stock it left). Reserving stops when
        the stock is out. `duplicates` (jobs of a request that already has a card) end as duplicates in
        the same transaction. `halfway` runs inside the transaction, after half of the jobs (crash tests).
        """
        reserved: list[JobRow] = []
        with self._tx() as db:
            for job_key in duplicates:
                db.execute("UPDATE jobs SET state = ?, payload = NULL, updated_at = ? WHERE job_key = ?",
                           (JobState.DUPLICATE.value, now_text(), job_key))
            stock = self._stock(db)
            remaining, cards, blanks = int(stock["blank_stock"]), int(stock["cards_issued"]), int(stock["blanks_used"])
            rows, now = self._require_all(db, job_keys, JobState.VERIFIED, JobState.WAITING), now_text()
            for index, job_key in enumerate(job_keys, start=1):
                if remaining <= 0:
                    break
                row = rows[job_key]
                card_serial = row.card_serial
                if card_serial is None:
                    cards += 1
                    card_serial = f"{self.station_id}-{cards:08d}"
                blanks += 1
                remaining -= 1
                blank_serial = f"BLK-{self.station_id}-{blanks:06d}"
                db.execute("UPDATE jobs SET state = ?, card_serial = ?, blank_serial = ?, updated_at = ?"
                           " WHERE job_key = ?", (JobState.PRINTING.value, card_serial, blank_serial, now, job_key))
                reserved.append(replace(row, state=JobState.PRINTING, card_serial=card_serial,
                                        blank_serial=blank_serial))
                if halfway is not None and index == _half(len(job_keys)):
                    halfway()
            db.execute("UPDATE stock SET blank_stock = ?, cards_issued = ?, blanks_used = ? WHERE id = 1",
                       (remaining, cards, blanks))
            if reserved:
                self._add_inventory(db, remaining, -len(reserved), "print")
        return reserved

    def printing(self, limit: int = -1) -> list[JobRow]:
        """Jobs with a blank reserved and no card recorded yet, oldest first, at most `limit` (-1: all).

        After a crash these are the recovery's cases: a job whose card file exists was printed.
        """
        return self._jobs("SELECT * FROM jobs WHERE state = ? AND owned = 1 ORDER BY arrival LIMIT ?",
                          (JobState.PRINTING.value, limit))

    def record_prints(
        self, printed: Sequence[tuple[str, dt.datetime]], misprinted: Sequence[str] = (),
        *, halfway: Callable[[], None] | None = None,
    ) -> list[CardPrinted]:
        """A batch's print results in one transaction; the print.completed events of the printed cards.

        Each printed (job_key, printed_at) becomes `printed` with its print.completed in the outbox. Each
        misprinted job spoiled its blank: it takes another (a `misprint` inventory event) and stays
        `printing`, or goes back to the queue without one when the stock is out. `halfway` runs inside the
        transaction, after half of the printed cards (crash tests).
        """
        events: list[CardPrinted] = []
        with self._tx() as db:
            rows, now = self._require_all(db, [job_key for job_key, _at in printed], JobState.PRINTING), now_text()
            for index, (job_key, printed_at) in enumerate(printed, start=1):
                events.append(self._record_printed(db, rows[job_key], printed_at, now))
                if halfway is not None and index == _half(len(printed)):
                    halfway()
            for job_key in misprinted:
                self._record_misprint(db, job_key)
        return events

    def _record_printed(self, db: sqlite3.Connection, row: JobRow, printed_at: dt.datetime, now: str) -> CardPrinted:
        assert row.card_serial is not None  # set by reserve_blanks
        assert row.blank_serial is not None
        event = CardPrinted(
            event_id=card_event_id(self.station_id, row.request_id, row.card_serial),
            request_id=row.request_id, occurred_at=printed_at, citizen_key=row.citizen_key, job_id=row.job_id,
            card_serial=row.card_serial, blank_serial=row.blank_serial, station_id=self.station_id,
            printed_at=printed_at,
        )
        db.execute("UPDATE jobs SET state = ?, updated_at = ? WHERE job_key = ?",
                   (JobState.PRINTED.value, now, row.job_key))
        self._add_outbox(db, event_id=str(event.event_id), topic=PRINT_COMPLETED.name, key=row.citizen_key,
                         value=event.model_dump_json(), job_key=row.job_key)
        return event

    def _record_misprint(self, db: sqlite3.Connection, job_key: str) -> None:
        self._require(job_key, JobState.PRINTING)
        stock = self._stock(db)
        if stock["blank_stock"] <= 0:
            db.execute("UPDATE jobs SET state = ?, blank_serial = NULL, misprints = misprints + 1,"
                       " updated_at = ? WHERE job_key = ?", (JobState.VERIFIED.value, now_text(), job_key))
            return
        blanks = int(stock["blanks_used"]) + 1
        remaining = int(stock["blank_stock"]) - 1
        db.execute("UPDATE stock SET blank_stock = ?, blanks_used = ? WHERE id = 1", (remaining, blanks))
        db.execute("UPDATE jobs SET blank_serial = ?, misprints = misprints + 1, updated_at = ? WHERE job_key = ?",
                   (f"BLK-{self.station_id}-{blanks:06d}", now_text(), job_key))
        self._add_inventory(db, remaining, -1, "misprint")

    # -- the outbox

    def unsent(self, limit: int = 100) -> list[OutboxMessage]:
        rows = self._db.execute("SELECT * FROM outbox WHERE sent = 0 ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [OutboxMessage(int(row["seq"]), row["event_id"], row["topic"], row["key"], row["value"], row["job_key"])
                for row in rows]

    def mark_sent(self, message: OutboxMessage) -> None:
        """Kafka acknowledged the message; a card's print.completed makes its job reported (card data erased)."""
        self.mark_all_sent([message])

    def mark_all_sent(self, messages: Sequence[OutboxMessage]) -> None:
        """`mark_sent` for every message of an acknowledged batch, in one transaction (one sync, not one each)."""
        with self._tx() as db:
            for message in messages:
                db.execute("UPDATE outbox SET sent = 1 WHERE seq = ?", (message.seq,))
                if message.job_key is not None and message.topic == PRINT_COMPLETED.name:
                    db.execute(
                        "UPDATE jobs SET state = ?, payload = NULL, updated_at = ? WHERE job_key = ? AND state = ?",
                        (JobState.REPORTED.value, now_text(), message.job_key, JobState.PRINTED.value),
                    )

    # -- stock

    def has_stock(self) -> bool:
        """False for a new journal: its stock is still to be set (`init_stock`)."""
        return self._db.execute("SELECT 1 FROM stock WHERE id = 1").fetchone() is not None

    def init_stock(self, blank_stock: int, seen_restocks: Iterable[str] = ()) -> None:
        """The stock of a new journal, and the restock events it already includes (never applied again)."""
        with self._tx() as db:
            db.execute("INSERT INTO stock(id, blank_stock, cards_issued, blanks_used) VALUES (1, ?, 0, 0)",
                       (max(blank_stock, 0),))
            for event_id in seen_restocks:
                db.execute("INSERT OR IGNORE INTO restocks(event_id, change, applied, seen_at) VALUES (?, 0, 0, ?)",
                           (event_id, now_text()))

    def blank_stock(self) -> int:
        return int(self._stock(self._db)["blank_stock"])

    def apply_restock(self, event: StationInventory) -> bool:
        """Apply a restock's change once (by event_id) and publish the corrected total; False if seen before."""
        with self._tx() as db:
            seen = db.execute("SELECT 1 FROM restocks WHERE event_id = ?", (str(event.event_id),)).fetchone()
            if seen is not None:
                return False
            stock = max(int(self._stock(db)["blank_stock"]) + event.change, 0)
            db.execute("INSERT INTO restocks(event_id, change, applied, seen_at) VALUES (?, ?, 1, ?)",
                       (str(event.event_id), event.change, now_text()))
            db.execute("UPDATE stock SET blank_stock = ? WHERE id = 1", (stock,))
            self._add_inventory(db, stock, 0, "count")
        return True

    def publish_count(self) -> None:
        """Put the current stock in the outbox (at start: the inventory topic then shows the truth)."""
        with self._tx() as db:
            self._add_inventory(db, int(self._stock(db)["blank_stock"]), 0, "count")

    # -- figures

    def state_counts(self) -> dict[JobState, int]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {JobState(row[0]): int(row[1]) for row in rows}

    def get(self, job_key: str) -> JobRow | None:
        return self._job("SELECT * FROM jobs WHERE job_key = ?", (job_key,))

    def find(self, job_id: str) -> list[JobRow]:
        """Every message journaled under a job id (normally one)."""
        return self._jobs("SELECT * FROM jobs WHERE job_id = ? ORDER BY arrival", (job_id,))

    # -- internals

    def _require(self, job_key: str, *states: JobState) -> JobRow:
        return self._require_all(self._db, [job_key], *states)[job_key]

    def _require_all(self, db: sqlite3.Connection, job_keys: Sequence[str], *states: JobState) -> dict[str, JobRow]:
        """The rows of a batch, read in one query: each job named once, present, and in one of `states`."""
        if len(set(job_keys)) != len(job_keys):
            raise StationError("a batch names a job twice")
        rows = {row.job_key: row for row in self._jobs_in(db, JOBS_NAMED, (json.dumps(list(job_keys)),))}
        for job_key in job_keys:
            row = rows.get(job_key)
            if row is None or row.state not in states:
                found = "absent" if row is None else row.state.value
                raise StationError(f"job {job_key}: expected {'/'.join(states)}, journal says {found}")
        return rows

    @staticmethod
    def _stock(db: sqlite3.Connection) -> sqlite3.Row:
        row: sqlite3.Row | None = db.execute("SELECT * FROM stock WHERE id = 1").fetchone()
        if row is None:
            raise StationError("the journal's blank stock is not set yet")
        return row

    def _add_inventory(self, db: sqlite3.Connection, blank_stock: int, change: int, reason: str) -> None:
        event = StationInventory.model_validate(
            {"station_id": self.station_id, "blank_stock": blank_stock, "change": change, "reason": reason}
        )
        self._add_outbox(db, event_id=str(event.event_id), topic=STATION_INVENTORY.name, key=self.station_id,
                         value=event.model_dump_json())

    def _add_status_note(self, db: sqlite3.Connection, row: JobRow, state: str, note: str, *, suffix: str) -> None:
        # Derived ids: the same note of the same job is the same event, however often it is written.
        event = StatusNoted.model_validate({
            "event_id": uuid.uuid5(CARD_EVENT_NAMESPACE, f"{self.station_id}/{row.job_id}/{suffix}"),
            "request_id": row.request_id, "producer": "ektp-pipeline/station", "citizen_key": row.citizen_key,
            "state": state, "note": note, "office_code": row.office_code,
        })
        self._add_outbox(db, event_id=str(event.event_id), topic=STATUS_NOTES.name, key=row.citizen_key,
                         value=event.model_dump_json())

    @staticmethod
    def _add_outbox(
        db: sqlite3.Connection, *, event_id: str, topic: str, key: str, value: str, job_key: str | None = None
    ) -> None:
        db.execute("INSERT OR IGNORE INTO outbox(event_id, topic, key, value, job_key) VALUES (?, ?, ?, ?, ?)",
                   (event_id, topic, key.encode(), value.encode(), job_key))

    def _job(self, sql: str, params: tuple[Any, ...] = ()) -> JobRow | None:
        rows = self._jobs(sql, params)
        return rows[0] if rows else None

    def _jobs(self, sql: str, params: tuple[Any, ...] = ()) -> list[JobRow]:
        return self._jobs_in(self._db, sql, params)

    @staticmethod
    def _jobs_in(db: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[JobRow]:
        cursor = db.execute(sql, params)
        # By position, found once a query: a sqlite3.Row looks a name up by comparing it with every column's.
        columns = [description[0] for description in cursor.description]
        positions = [columns.index(name) for name in JOB_ROW_FIELDS]
        rows = []
        for row in cursor.fetchall():
            values = [row[position] for position in positions]
            values[STATE_FIELD], values[OWNED_FIELD] = JobState(values[STATE_FIELD]), bool(values[OWNED_FIELD])
            rows.append(JobRow(*values))
        return rows
