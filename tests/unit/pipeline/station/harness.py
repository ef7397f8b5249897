"""A station engine run without Kafka: one partition, a consumer group's offsets and a publish log in memory."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events.printing import CardPrinted, PrintRequested, StationInventory
from events.status import StatusNoted
from pipeline.station.config import StationConfig
from pipeline.station.crash import CrashHook, CrashPoint
from pipeline.station.engine import JobRecord, PrintEngine
from pipeline.station.journal import Journal, OutboxMessage
from pipeline.station.metrics import StationMetrics
from pipeline.station.recovery import JobState
from pipeline.station.render import PARTIAL_SUFFIX, ensure_private_dir, remove_partial_cards
from pipeline.station.verify import RefusalReason, Refused, Verdict, Verified
from pipeline.topology.topics import PRINT_COMPLETED, STATION_INVENTORY, STATUS_NOTES
from tests.unit.pipeline.station.fakes import unsigned_job

VALID = "valid-token"


class SimulatedCrash(BaseException):
    """The test's SIGKILL: nothing of the station catches it."""


def crash() -> None:
    raise SimulatedCrash


def crashing(config: StationConfig, point: CrashPoint, nth: int) -> StationConfig:
    """The config of a station that crashes (SimulatedCrash) at the nth passage of `point`."""
    return dataclasses.replace(config, crash_hook=CrashHook(point, nth, crash=crash))


def valid_job(**fields: Any) -> PrintRequested:
    """A print job whose token `TokenVerifier` verifies."""
    return unsigned_job(**fields).model_copy(update={"approval_token": VALID})


def journal_states(config: StationConfig) -> dict[JobState, int]:
    """How many jobs the station's journal holds in each state (opened and closed for the question)."""
    journal = Journal(config.journal_path, config.station_id)
    try:
        return journal.state_counts()
    finally:
        journal.close()


class TokenVerifier:
    """Central in a word: the token `valid-token` verifies, anything else is forged."""

    async def verify(self, job: PrintRequested) -> Verdict:
        if job.approval_token == VALID:
            return Verified("central-key-1")
        return Refused(RefusalReason.BAD_SIGNATURE, "forged-kid", "the signature does not verify")


@dataclass
class FakeKafka:
    """`ektp.print.requested` (one partition), the group's committed offset, and what the station sent."""

    records: list[JobRecord] = field(default_factory=list)
    committed: dict[int, tuple[int, str]] = field(default_factory=dict)
    published: list[OutboxMessage] = field(default_factory=list)

    def produce(self, *jobs: PrintRequested) -> None:
        for job in jobs:
            self.records.append(JobRecord(0, len(self.records), job.model_dump_json().encode()))

    async def publish(self, batch: Sequence[OutboxMessage]) -> None:
        self.published.extend(batch)

    def cards(self) -> list[CardPrinted]:
        return [CardPrinted.model_validate_json(m.value) for m in self.published if m.topic == PRINT_COMPLETED.name]

    def notes(self) -> list[StatusNoted]:
        return [StatusNoted.model_validate_json(m.value) for m in self.published if m.topic == STATUS_NOTES.name]

    def inventory(self) -> list[StationInventory]:
        return [StationInventory.model_validate_json(m.value) for m in self.published
                if m.topic == STATION_INVENTORY.name]

    def card_serials_by_request(self) -> dict[str, set[str]]:
        serials: dict[str, set[str]] = {}
        for card in self.cards():
            serials.setdefault(card.request_id, set()).add(card.card_serial)
        return serials


class CountingJournal(Journal):
    """A journal that counts its committed transactions: each is one synced commit (synchronous=FULL)."""

    def __init__(self, path: Path, station_id: str) -> None:
        self.commits = 0  # before the base class opens the journal: that is a transaction too
        super().__init__(path, station_id)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with super()._tx() as db:
            yield db
        self.commits += 1


def open_engine(
    config: StationConfig, verifier: TokenVerifier | None = None, *, journal_type: type[Journal] = Journal
) -> PrintEngine:
    ensure_private_dir(config.station_dir)
    ensure_private_dir(config.out_dir)
    journal = journal_type(config.journal_path, config.station_id)
    return PrintEngine(config, journal, verifier or TokenVerifier(), StationMetrics(config.station_id))


def take_in_all(engine: PrintEngine, kafka: FakeKafka) -> None:
    """Read every record from the committed offset on as one batch, commit it and own its jobs."""
    start = kafka.committed.get(0, (0, ""))[0]
    records = kafka.records[start:]
    if records:
        taken = engine.take_in(records)
        kafka.committed[0] = (records[-1].offset + 1, engine.claim_metadata(taken.claim))
        engine.committed(taken.claim)


async def work_until_idle(engine: PrintEngine, kafka: FakeKafka) -> None:
    """Step until there is nothing to do, sending the outbox after each step, as the runner's tasks do."""
    while await engine.step():
        await engine.flush_outbox(kafka.publish)
    await engine.flush_outbox(kafka.publish)


async def run_station(
    config: StationConfig, kafka: FakeKafka, *, history: Sequence[StationInventory] = (),
    restocks: Sequence[StationInventory] = (),
) -> PrintEngine:
    """One life of the station: recover, read from the committed offset, print what it can, report.

    The journal is closed at the end (or at the crash), as a process's death closes it.
    """
    engine = open_engine(config)
    try:
        remove_partial_cards(config.out_dir)
        engine.start_stock(history)
        engine.settle_unowned(kafka.committed)
        take_in_all(engine, kafka)
        for restock in restocks:
            engine.apply_inventory(restock)
        await work_until_idle(engine, kafka)
    finally:
        engine.journal.close()
    return engine


def card_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob("*.png"))


def partial_files(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob(f"*{PARTIAL_SUFFIX}"))


def duplicates(values: Sequence[str]) -> list[str]:
    return [value for value, count in Counter(values).items() if count > 1]


def payload(message: OutboxMessage) -> dict[str, object]:
    return dict(json.loads(message.value))
