"""Group commit: the station's durable steps take a batch of jobs in one synced transaction each, and a crash
anywhere in a batch still prints each card once and reports it."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from events.common import utc_now
from events.printing import PrintRequested
from pipeline.config import Settings
from pipeline.station import engine as engine_module
from pipeline.station import render as render_module
from pipeline.station.config import StationConfig
from pipeline.station.crash import CrashHook, CrashPoint
from pipeline.station.engine import PrintEngine
from pipeline.station.errors import JwksUnavailable, StationError
from pipeline.station.journal import MARK_OWNED, Journal
from pipeline.station.recovery import JobState
from pipeline.station.render import place_card
from pipeline.station.verify import Verdict
from tests.unit.pipeline.station.harness import (
    CountingJournal,
    FakeKafka,
    SimulatedCrash,
    TokenVerifier,
    card_files,
    crashing,
    journal_states,
    open_engine,
    partial_files,
    run_station,
    take_in_all,
    valid_job,
    work_until_idle,
)

# The synced commits of one batch's print work: its verdicts, its blank reservations, its printed cards, and
# marking sent, once published, first its one inventory event and then its print.completed events.
COMMITS_PER_BATCH = 5


@pytest.fixture
def card_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The card serial of every card the station put in place whole, across all of its lives in the test."""
    written: list[str] = []

    def spy(partial: Path) -> Path:
        path = place_card(partial)
        written.append(path.stem)
        return path

    monkeypatch.setattr(engine_module, "place_card", spy)
    return written


async def commits_to_print(config: StationConfig, jobs: int) -> int:
    """The synced commits a station makes to verify, print and report `jobs` jobs that are all ready at once."""
    kafka = FakeKafka()
    kafka.produce(*(valid_job() for _ in range(jobs)))
    engine = open_engine(config, journal_type=CountingJournal)
    journal = engine.journal
    assert isinstance(journal, CountingJournal)
    try:
        engine.start_stock([])
        take_in_all(engine, kafka)
        await engine.flush_outbox(kafka.publish)  # the starting stock count: not the jobs' work
        before = journal.commits
        await work_until_idle(engine, kafka)
        assert len(kafka.cards()) == jobs
        return journal.commits - before
    finally:
        journal.close()


async def test_a_batch_of_cards_costs_the_synced_commits_of_a_single_card(tmp_path: Path) -> None:
    """Forty ready jobs are verified, printed and reported with as many synced commits as one job."""

    def station(name: str) -> StationConfig:
        folder = tmp_path / name
        return StationConfig(
            station_id="TPI-01", office_code="2172", settings=Settings(run_dir=tmp_path),
            central_url="http://127.0.0.1:1", station_dir=folder, out_dir=folder / "cards", metrics_port=0,
            initial_blanks=100, instant=True, batch_record_after=math.inf,
        )

    one = await commits_to_print(station("one"), 1)
    forty = await commits_to_print(station("forty"), 40)
    assert one == COMMITS_PER_BATCH
    assert forty == one


async def test_jobs_beyond_the_batch_size_go_in_further_batches_of_bounded_commits(
    station_config: StationConfig,
) -> None:
    """Thirty-five jobs in batches of ten: four batches, each costing the commits of one, every card printed."""
    config = dataclasses.replace(station_config, initial_blanks=100, instant=True, batch_size=10,
                                 batch_record_after=math.inf)
    commits = await commits_to_print(config, 35)
    batches = math.ceil(35 / 10)
    assert 3 * batches <= commits <= COMMITS_PER_BATCH * batches  # at least verdicts, blanks and cards per batch
    assert len(card_files(config.out_dir)) == 35


async def test_a_printed_batch_logs_one_line_naming_its_cards_and_counts_each(station_config: StationConfig) -> None:
    """Twenty-five jobs in batches of ten: at info level one line a batch, naming each of its cards; the
    printed counter counts every card."""
    config = dataclasses.replace(station_config, initial_blanks=100, instant=True, batch_size=10,
                                 batch_record_after=math.inf)
    kafka = FakeKafka()
    kafka.produce(*[valid_job() for _ in range(25)])
    with capture_logs() as logs:
        engine = await run_station(config, kafka)
    printed = [line for line in logs if line["event"] == "cards printed"]
    assert [line["count"] for line in printed] == [10, 10, 5]
    assert sorted(serial for line in printed for serial in line["card_serials"]) == sorted(
        card.card_serial for card in kafka.cards()
    )
    assert [line["event"] for line in logs if line["log_level"] == "info"] == ["cards printed"] * 3
    assert engine.metrics.value("ektp_station_cards_printed_total") == 25


@pytest.mark.parametrize(
    ("point", "nth", "states_at_crash", "cards_at_crash", "temp_files_at_crash"),
    [
        # Before the batch's printing transaction: its approvals are journaled, nothing more.
        (CrashPoint.AFTER_VERIFY, 3, {JobState.VERIFIED: 3}, 0, 0),
        # During it: the transaction is rolled back whole, no blank is taken.
        (CrashPoint.MID_RESERVE, 1, {JobState.VERIFIED: 3}, 0, 0),
        # Between the printing and the printed transactions: before any card; while the cards are written as
        # temp files (the first half written, the second half written after a whole one); while they are
        # renamed into place, once they are all synced; and after every card.
        (CrashPoint.AFTER_RESERVE, 1, {JobState.PRINTING: 3}, 0, 0),
        (CrashPoint.MID_RENDER, 1, {JobState.PRINTING: 3}, 0, 1),
        (CrashPoint.MID_RENDER, 2, {JobState.PRINTING: 3}, 0, 2),
        (CrashPoint.AFTER_PNG, 2, {JobState.PRINTING: 3}, 2, 1),
        (CrashPoint.AFTER_PNG, 3, {JobState.PRINTING: 3}, 3, 0),
        # During the printed transaction: rolled back whole, the cards are out and the journal says printing.
        (CrashPoint.MID_RECORD, 1, {JobState.PRINTING: 3}, 3, 0),
        # After it: the cards are recorded and their print.completed waits in the outbox.
        (CrashPoint.AFTER_RECORD, 1, {JobState.PRINTED: 3}, 3, 0),
        (CrashPoint.AFTER_REPORT, 2, {JobState.PRINTED: 3}, 3, 0),
    ],
)
async def test_a_crash_anywhere_in_a_batch_then_a_restart_prints_each_card_once_and_reports_it(
    station_config: StationConfig, card_writes: list[str], point: CrashPoint, nth: int,
    states_at_crash: dict[JobState, int], cards_at_crash: int, temp_files_at_crash: int,
) -> None:
    """Three jobs in one batch, killed at each instant of it: each card is written once, each completion sent."""
    kafka = FakeKafka()
    jobs = [valid_job() for _ in range(3)]
    kafka.produce(*jobs)
    with pytest.raises(SimulatedCrash):
        await run_station(crashing(station_config, point, nth), kafka)
    assert journal_states(station_config) == states_at_crash
    assert len(card_files(station_config.out_dir)) == cards_at_crash
    assert len(partial_files(station_config.out_dir)) == temp_files_at_crash

    await run_station(station_config, kafka)

    serials = kafka.card_serials_by_request()
    assert {request: len(cards) for request, cards in serials.items()} == {job.request_id: 1 for job in jobs}
    assert Counter(card_writes) == {serial: 1 for cards in serials.values() for serial in cards}  # printed once
    assert sorted(path.stem for path in card_files(station_config.out_dir)) == sorted(card_writes)
    assert partial_files(station_config.out_dir) == []
    assert journal_states(station_config) == {JobState.REPORTED: 3}
    assert len({card.event_id for card in kafka.cards()}) == 3  # a re-sent completion is the same event
    prints = [event for event in kafka.inventory() if event.reason == "print"]
    assert sum(event.change for event in prints) == -3  # one blank per card, none taken twice
    assert prints[-1].blank_stock == 7


@pytest.mark.parametrize("instant", [False, True], ids=["rendered", "instant"])
async def test_no_card_is_put_in_place_before_the_bytes_of_every_card_of_its_batch_are_synced(
    station_config: StationConfig, monkeypatch: pytest.MonkeyPatch, instant: bool,
) -> None:
    """A card that exists is durable: each batch's temp files are all fsynced before the first is renamed."""
    synced: set[Path] = set()
    placed: list[Path] = []
    sync_one = render_module._fsync

    def spy_sync(path: Path) -> None:
        sync_one(path)
        synced.add(path)

    def spy_place(partial: Path) -> Path:
        assert partial in synced, f"{partial.name} renamed into place before it was synced"
        assert set(partial_files(partial.parent)) <= synced, "a card placed before the rest of its batch was synced"
        placed.append(partial)
        return place_card(partial)

    monkeypatch.setattr(render_module, "_fsync", spy_sync)
    monkeypatch.setattr(engine_module, "place_card", spy_place)
    config = dataclasses.replace(station_config, instant=instant, batch_record_after=math.inf)
    kafka = FakeKafka()
    kafka.produce(*(valid_job() for _ in range(4)))
    await run_station(config, kafka)
    assert len(placed) == 4
    assert len(card_files(config.out_dir)) == 4
    assert len(kafka.cards()) == 4


async def test_a_long_batch_records_the_cards_it_printed_before_it_goes_on(
    station_config: StationConfig, card_writes: list[str],
) -> None:
    """Past its record interval a batch records its cards so far: killed at the third, two are already printed."""
    config = dataclasses.replace(crashing(station_config, CrashPoint.MID_RENDER, 3), batch_record_after=0.0)
    kafka = FakeKafka()
    kafka.produce(*(valid_job() for _ in range(3)))
    with pytest.raises(SimulatedCrash):
        await run_station(config, kafka)
    assert journal_states(station_config) == {JobState.PRINTED: 2, JobState.PRINTING: 1}

    await run_station(station_config, kafka)
    assert len(kafka.cards()) == 3
    assert sorted(Counter(card_writes).values()) == [1, 1, 1]


async def test_winding_down_ends_a_batch_with_its_printed_cards_recorded_and_the_rest_left_for_the_next_start(
    station_config: StationConfig, card_writes: list[str],
) -> None:
    """Asked to stop while the batch's second card is written: the two written are put in place and recorded,
    the third prints at the next start."""
    engine: PrintEngine | None = None

    def stop() -> None:
        assert engine is not None
        engine.wind_down()

    config = dataclasses.replace(station_config, crash_hook=CrashHook(CrashPoint.MID_RENDER, 2, crash=stop))
    kafka = FakeKafka()
    kafka.produce(*(valid_job() for _ in range(3)))
    engine = open_engine(config)
    try:
        engine.start_stock([])
        take_in_all(engine, kafka)
        await work_until_idle(engine, kafka)
        assert await engine.step() is False  # nothing more once winding down
    finally:
        engine.journal.close()
    assert journal_states(station_config) == {JobState.REPORTED: 2, JobState.PRINTING: 1}
    assert len(kafka.cards()) == 2
    assert partial_files(station_config.out_dir) == []

    await run_station(station_config, kafka)
    assert len(kafka.cards()) == 3
    assert sorted(Counter(card_writes).values()) == [1, 1, 1]


async def test_batches_follow_the_queue_first_time_cards_before_replacements_when_blanks_are_short(
    station_config: StationConfig,
) -> None:
    """Three blanks for two replacements and two first-time jobs, two per batch: both first-time ones print first."""
    config = dataclasses.replace(station_config, initial_blanks=3, batch_size=2)
    kafka = FakeKafka()
    replaced = [valid_job(request_type="replacement_lost") for _ in range(2)]
    first_time = [valid_job() for _ in range(2)]
    kafka.produce(replaced[0], first_time[0], replaced[1], first_time[1])
    await run_station(config, kafka)
    assert [card.request_id for card in kafka.cards()] == [
        first_time[0].request_id, first_time[1].request_id, replaced[0].request_id,
    ]
    assert journal_states(config) == {JobState.REPORTED: 3, JobState.WAITING: 1}


async def test_a_batch_whose_keys_are_unavailable_for_some_jobs_defers_only_those(
    station_config: StationConfig,
) -> None:
    """One batch of verdicts: the verified job prints, the forged one is refused, the unverifiable one waits."""

    class KeysMissingForOne(TokenVerifier):
        async def verify(self, job: PrintRequested) -> Verdict:
            if job.request_id == unverifiable.request_id:
                raise JwksUnavailable("GET /v1/jwks: connection refused")
            return await super().verify(job)

    genuine, unverifiable = valid_job(), valid_job()
    forged = valid_job().model_copy(update={"approval_token": "forged"})
    kafka = FakeKafka()
    kafka.produce(genuine, forged, unverifiable)
    engine = open_engine(station_config, KeysMissingForOne())
    try:
        engine.start_stock([])
        take_in_all(engine, kafka)
        await work_until_idle(engine, kafka)
    finally:
        engine.journal.close()
    assert [card.request_id for card in kafka.cards()] == [genuine.request_id]
    assert [note.request_id for note in kafka.notes()] == [forged.request_id]
    assert journal_states(station_config) == {JobState.REPORTED: 1, JobState.REFUSED: 1, JobState.RECEIVED: 1}


def test_marking_a_claim_owned_reads_that_claim_through_its_index(station_config: StationConfig) -> None:
    station_config.journal_path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(station_config.journal_path, station_config.station_id)
    try:
        plan = journal._db.execute(f"EXPLAIN QUERY PLAN {MARK_OWNED}", ("claim-1",)).fetchall()
    finally:
        journal.close()
    details = " ".join(row["detail"] for row in plan)
    assert "USING INDEX unowned_by_claim" in details, details


async def test_a_batch_of_cards_publishes_one_inventory_event_with_the_blanks_it_took(
    station_config: StationConfig,
) -> None:
    """Seven jobs in batches of three: three print events, taking 3, 3 and 1 blanks, each with the stock it left."""
    config = dataclasses.replace(station_config, initial_blanks=10, batch_size=3)
    kafka = FakeKafka()
    kafka.produce(*(valid_job() for _ in range(7)))
    await run_station(config, kafka)
    assert len(kafka.cards()) == 7
    prints = [(event.change, event.blank_stock) for event in kafka.inventory() if event.reason == "print"]
    assert prints == [(-3, 7), (-3, 4), (-1, 3)]


async def test_the_queue_head_is_the_queues_length_and_its_first_jobs_in_each_order(
    station_config: StationConfig,
) -> None:
    """Five verified jobs, replacements among them: a head of two names the two oldest and the two first in line."""
    kafka = FakeKafka()
    jobs = [valid_job(request_type="replacement_lost"), valid_job(), valid_job(request_type="replacement_lost"),
            valid_job(), valid_job()]
    kafka.produce(*jobs)
    engine = open_engine(dataclasses.replace(station_config, initial_blanks=0))
    try:
        engine.start_stock([])
        take_in_all(engine, kafka)
        await work_until_idle(engine, kafka)  # verified, then waiting: no blanks
        head = engine.journal.queue_head(2)
    finally:
        engine.journal.close()
    assert head.length == 5
    assert [job.request_id for job in head.by_arrival] == [jobs[0].request_id, jobs[1].request_id]
    assert [job.request_id for job in head.by_priority] == [jobs[1].request_id, jobs[3].request_id]


@pytest.mark.parametrize("mistake", ["named twice", "not printing"])
async def test_a_batch_naming_a_job_twice_or_in_another_state_is_refused_whole(
    station_config: StationConfig, mistake: str,
) -> None:
    """Recording a batch checks every job before it writes: a mistake leaves the whole batch as it was."""
    kafka = FakeKafka()
    kafka.produce(valid_job(), valid_job())
    engine = open_engine(station_config)
    try:
        engine.start_stock([])
        take_in_all(engine, kafka)
        await engine.step()  # verify both
        await engine.step()  # reserve both: printing
        first, second = engine.journal.printing()
        if mistake == "not printing":
            engine.journal.record_prints([(first.job_key, utc_now())])
        batch = [(first.job_key, utc_now()), (second.job_key, utc_now())] if mistake == "not printing" else \
            [(second.job_key, utc_now()), (second.job_key, utc_now())]
        before = engine.journal.state_counts()
        with pytest.raises(StationError, match="twice" if mistake == "named twice" else "expected printing"):
            engine.journal.record_prints(batch)
        assert engine.journal.state_counts() == before
    finally:
        engine.journal.close()
