"""The station's journal-driven work: exactly-once printing across crashes, blanks, refusals."""

from __future__ import annotations

import dataclasses
import json
import stat

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from events.printing import PrintRequested, StationInventory
from pipeline.station import engine as engine_module
from pipeline.station.config import StationConfig
from pipeline.station.crash import CrashPoint
from pipeline.station.engine import JobRecord
from pipeline.station.errors import JwksUnavailable
from pipeline.station.journal import JobRow, Journal, card_event_id
from pipeline.station.recovery import JobState
from pipeline.station.verify import Verdict
from tests.unit.pipeline.station.fakes import unsigned_job
from tests.unit.pipeline.station.harness import (
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
)


async def test_jobs_move_received_verified_printing_printed_reported(station_config: StationConfig) -> None:
    """A valid job passes every state once and ends reported, with one card and one print.completed."""
    kafka = FakeKafka()
    job = valid_job()
    kafka.produce(job)
    await run_station(station_config, kafka)
    [card] = kafka.cards()
    assert card.request_id == job.request_id
    assert card.card_serial == "TPI-01-00000001"
    assert card.blank_serial == "BLK-TPI-01-000001"
    assert card.event_id == card_event_id("TPI-01", job.request_id, card.card_serial)
    assert [path.name for path in card_files(station_config.out_dir)] == ["TPI-01-00000001.png"]
    assert journal_states(station_config) == {JobState.REPORTED: 1}
    assert [(event.reason, event.change, event.blank_stock) for event in kafka.inventory()] == [
        ("count", 0, 10), ("print", -1, 9),
    ]


async def test_reported_jobs_keep_no_card_data_in_the_journal(station_config: StationConfig) -> None:
    """Once reported, the journal keeps ids and serials only: no NIK, no name."""
    kafka = FakeKafka()
    job = valid_job()
    kafka.produce(job)
    await run_station(station_config, kafka)
    journal = Journal(station_config.journal_path, station_config.station_id)
    try:
        [row] = journal.find(job.job_id)
    finally:
        journal.close()
    assert row.payload is None


@pytest.mark.parametrize(
    ("point", "nth"),
    [
        (CrashPoint.AFTER_COMMIT, 1),
        (CrashPoint.AFTER_VERIFY, 2),
        (CrashPoint.AFTER_RESERVE, 2),
        (CrashPoint.MID_RENDER, 2),
        (CrashPoint.AFTER_PNG, 2),
        (CrashPoint.AFTER_REPORT, 2),
    ],
)
@pytest.mark.parametrize("instant", [False, True], ids=["rendered", "instant"])
async def test_a_crash_at_any_point_then_a_restart_prints_every_request_exactly_once(
    station_config: StationConfig, point: CrashPoint, nth: int, instant: bool,
) -> None:
    """Killed at each crash point and restarted, rendering cards or writing placeholders on the event loop:
    three requests, three cards, one card serial each."""
    station_config = dataclasses.replace(station_config, instant=instant)
    kafka = FakeKafka()
    jobs = [valid_job() for _ in range(3)]
    kafka.produce(*jobs)
    with pytest.raises(SimulatedCrash):
        await run_station(crashing(station_config, point, nth), kafka)
    if point is CrashPoint.MID_RENDER:
        # The first card's temp file, whole but not yet synced and renamed, and the second's half.
        assert len(partial_files(station_config.out_dir)) == 2
    await run_station(station_config, kafka)

    serials = kafka.card_serials_by_request()
    assert set(serials) == {job.request_id for job in jobs}
    assert all(len(cards) == 1 for cards in serials.values()), serials
    assert len(card_files(station_config.out_dir)) == 3
    assert partial_files(station_config.out_dir) == []
    assert journal_states(station_config) == {JobState.REPORTED: 3}
    # A re-sent print.completed is the same event, so downstream deduplicates it by event_id.
    event_ids: dict[str, set[object]] = {card.request_id: set() for card in kafka.cards()}
    for card in kafka.cards():
        event_ids[card.request_id].add(card.event_id)
    assert all(len(ids) == 1 for ids in event_ids.values())
    prints = [event for event in kafka.inventory() if event.reason == "print"]
    assert sum(event.change for event in prints) == -3  # one blank per card, no blank taken twice
    assert prints[-1].blank_stock == 10 - 3


async def test_a_crash_before_the_commit_reads_the_jobs_again_and_prints_them_once(
    station_config: StationConfig,
) -> None:
    """Journaled but never committed: the jobs are forgotten, read again from Kafka, printed once."""
    kafka = FakeKafka()
    jobs = [valid_job() for _ in range(2)]
    kafka.produce(*jobs)
    engine = open_engine(station_config)
    engine.start_stock([])
    engine.take_in(kafka.records)  # killed before the commit: nothing else happens
    engine.journal.close()
    await run_station(station_config, kafka)
    assert {request: len(cards) for request, cards in kafka.card_serials_by_request().items()} == {
        job.request_id: 1 for job in jobs
    }
    assert len(card_files(station_config.out_dir)) == 2


async def test_a_redelivered_job_is_not_printed_again(station_config: StationConfig) -> None:
    """The same job read twice (offset reset, replayed topic) prints once."""
    kafka = FakeKafka()
    job = valid_job()
    kafka.produce(job)
    await run_station(station_config, kafka)
    kafka.produce(job)
    await run_station(station_config, kafka)
    assert len(kafka.cards()) == 1
    assert len(card_files(station_config.out_dir)) == 1


async def test_a_second_job_for_the_same_request_gets_no_second_card(station_config: StationConfig) -> None:
    """Two job ids for one request: one card; the second job is journaled as a duplicate."""
    kafka = FakeKafka()
    first = valid_job()
    second = first.model_copy(update={"job_id": f"{first.job_id}-again"})
    kafka.produce(first, second)
    await run_station(station_config, kafka)
    assert len(kafka.cards()) == 1
    assert journal_states(station_config) == {JobState.REPORTED: 1, JobState.DUPLICATE: 1}


async def test_a_forged_job_is_refused_never_printed_and_noted(station_config: StationConfig) -> None:
    """A job whose approval does not verify: no card, no blank, a PRINT_QUEUED note saying why."""
    kafka = FakeKafka()
    forged = unsigned_job().model_copy(update={"approval_token": "forged"})
    kafka.produce(forged)
    engine = await run_station(station_config, kafka)
    assert kafka.cards() == []
    assert card_files(station_config.out_dir) == []
    [note] = kafka.notes()
    assert (note.request_id, note.state, note.note) == (
        forged.request_id, "PRINT_QUEUED", "print refused: approval signature invalid",
    )
    assert journal_states(station_config) == {JobState.REFUSED: 1}
    assert engine.metrics.value("ektp_station_jobs_refused_total", reason="bad_signature") == 1


async def test_a_refused_job_delivered_again_is_not_evaluated_again(station_config: StationConfig) -> None:
    """The same forged message twice: one refusal, one note."""
    kafka = FakeKafka()
    forged = unsigned_job().model_copy(update={"approval_token": "forged"})
    kafka.produce(forged)
    await run_station(station_config, kafka)
    kafka.produce(forged)
    engine = await run_station(station_config, kafka)
    assert len(kafka.notes()) == 1
    assert engine.metrics.value("ektp_station_jobs_refused_total", reason="bad_signature") == 0


@pytest.mark.parametrize("forged_first", [True, False])
async def test_a_forged_copy_under_a_genuine_job_id_neither_blocks_nor_replaces_it(
    station_config: StationConfig, forged_first: bool
) -> None:
    """A forged copy carrying a real job id, before or after the genuine job: the genuine one prints once."""
    kafka = FakeKafka()
    genuine = valid_job()
    forged = genuine.model_copy(update={"approval_token": "forged"})
    kafka.produce(*((forged, genuine) if forged_first else (genuine, forged)))
    await run_station(station_config, kafka)
    assert [card.request_id for card in kafka.cards()] == [genuine.request_id]
    assert journal_states(station_config) == {JobState.REPORTED: 1, JobState.REFUSED: 1}


async def test_a_job_waits_while_centrals_keys_are_unavailable_and_prints_once_they_are(
    station_config: StationConfig,
) -> None:
    """Fail closed: no keys, no print; the job stays received, and prints when a later try verifies it."""

    class CentralDown(TokenVerifier):
        async def verify(self, job: PrintRequested) -> Verdict:
            raise JwksUnavailable("GET /v1/jwks: connection refused")

    kafka = FakeKafka()
    kafka.produce(valid_job())
    engine = open_engine(station_config, CentralDown())
    engine.start_stock([])
    taken = engine.take_in(kafka.records)
    kafka.committed[0] = (1, engine.claim_metadata(taken.claim))
    engine.committed(taken.claim)
    assert await engine.step() is True  # tried and deferred
    assert await engine.step() is False  # nothing is due before the retry delay
    assert engine.next_retry_in() == pytest.approx(station_config.verify_retry, abs=0.5)
    [row] = engine.journal.find(taken_job_id(kafka))
    engine.journal.defer_verification(row.job_key, 0.0)  # the delay has passed
    engine.journal.close()
    assert journal_states(station_config) == {JobState.RECEIVED: 1}
    assert card_files(station_config.out_dir) == []

    await run_station(station_config, kafka)  # central is back
    assert len(kafka.cards()) == 1
    assert journal_states(station_config) == {JobState.REPORTED: 1}


def taken_job_id(kafka: FakeKafka) -> str:
    [record] = kafka.records
    assert record.value is not None
    return PrintRequested.model_validate_json(record.value).job_id


async def test_jobs_of_other_offices_and_other_stations_are_skipped(station_config: StationConfig) -> None:
    """Only our office's jobs for any station or for us are journaled; the rest are committed past."""
    kafka = FakeKafka()
    ours, for_us = valid_job(), valid_job(station_id="TPI-01")
    kafka.produce(valid_job(office_code="2171"), valid_job(station_id="TPI-02"), ours, for_us)
    kafka.records.append(dataclasses.replace(kafka.records[0], offset=4, value=b"{not json"))
    engine = await run_station(station_config, kafka)
    assert {card.request_id for card in kafka.cards()} == {ours.request_id, for_us.request_id}
    assert kafka.committed[0][0] == 5
    assert engine.metrics.value("ektp_station_jobs_skipped_total", reason="other_office") == 1
    assert engine.metrics.value("ektp_station_jobs_skipped_total", reason="other_station") == 1
    assert engine.metrics.value("ektp_station_jobs_skipped_total", reason="unreadable") == 1


async def test_a_job_without_a_token_is_refused_not_dropped(station_config: StationConfig) -> None:
    """A job with no approval_token at all is journaled and refused as a security alert."""
    kafka = FakeKafka()
    document = unsigned_job().model_dump(mode="json")
    del document["approval_token"]
    kafka.records.append(JobRecord(0, 0, json.dumps(document).encode()))
    await run_station(station_config, kafka)
    assert journal_states(station_config) == {JobState.REFUSED: 1}
    assert [note.note for note in kafka.notes()] == ["print refused: approval signature invalid"]


async def test_out_of_blanks_jobs_wait_with_one_note_each_and_print_on_restock(station_config: StationConfig) -> None:
    """No blanks: jobs wait (one WAITING_FOR_BLANKS note per job, restarts included); a restock prints them."""
    config = dataclasses.replace(station_config, initial_blanks=0)
    kafka = FakeKafka()
    jobs = [valid_job() for _ in range(2)]
    kafka.produce(*jobs)
    await run_station(config, kafka)
    await run_station(config, kafka)  # a restart while waiting: no second note
    assert kafka.cards() == []
    assert sorted(note.request_id for note in kafka.notes()) == sorted(job.request_id for job in jobs)
    assert {note.state for note in kafka.notes()} == {"WAITING_FOR_BLANKS"}
    assert journal_states(config) == {JobState.WAITING: 2}

    restock = StationInventory(station_id="TPI-01", blank_stock=5, change=5, reason="restock")
    await run_station(config, kafka, restocks=[restock, restock])  # delivered twice, applied once
    assert len(kafka.cards()) == 2
    assert kafka.inventory()[-1].blank_stock == 3
    assert len(kafka.notes()) == 2


async def test_each_out_of_blanks_line_names_its_own_request(station_config: StationConfig) -> None:
    """The log line of each job that waits for blanks carries that job's request, not the last one bound."""
    config = dataclasses.replace(station_config, initial_blanks=0)
    kafka = FakeKafka()
    jobs = [valid_job() for _ in range(3)]
    kafka.produce(*jobs)
    with capture_logs(processors=[merge_contextvars]) as logs:  # the message context bound for each line
        await run_station(config, kafka)
    waiting = [line for line in logs if line["event"] == "out of blanks: job waits"]
    assert sorted(line["request_id"] for line in waiting) == sorted(job.request_id for job in jobs)
    assert all(line["job_key"].startswith(line["job_id"]) for line in waiting)


async def test_when_blanks_are_short_first_time_requests_print_before_replacements(
    station_config: StationConfig,
) -> None:
    """Two blanks for a replacement and two first-time requests: the first-time ones print."""
    config = dataclasses.replace(station_config, initial_blanks=0)
    kafka = FakeKafka()
    replacement = valid_job(request_type="replacement_lost")
    first_time = [valid_job(), valid_job()]
    kafka.produce(replacement, *first_time)
    await run_station(config, kafka)
    restock = StationInventory(station_id="TPI-01", blank_stock=2, change=2, reason="restock")
    await run_station(config, kafka, restocks=[restock])
    assert [card.request_id for card in kafka.cards()] == [job.request_id for job in first_time]
    assert journal_states(config) == {JobState.REPORTED: 2, JobState.WAITING: 1}


async def test_a_misprint_spends_one_more_blank_and_still_gives_one_card(station_config: StationConfig) -> None:
    """Seeded misprints: each spoils a blank (a misprint event), and every request still gets one card."""
    # The draws are seeded per job, and these jobs are new each run: 20 jobs at 0.5 all print clean
    # with odds of one in a million, so misprints do happen.
    config = dataclasses.replace(station_config, misprint_rate=0.5, misprint_seed=7, initial_blanks=500)
    kafka = FakeKafka()
    jobs = [valid_job() for _ in range(20)]
    kafka.produce(*jobs)
    engine = await run_station(config, kafka)
    misprints = [event for event in kafka.inventory() if event.reason == "misprint"]
    assert misprints
    assert len(card_files(config.out_dir)) == 20
    assert kafka.inventory()[-1].blank_stock == 500 - 20 - len(misprints)
    assert engine.metrics.value("ektp_station_misprints_total") == len(misprints)


async def test_a_new_journal_takes_the_last_published_stock(station_config: StationConfig) -> None:
    """A station with a new journal starts from its last stock on the topic; older restocks are in it."""
    restock = StationInventory(station_id="TPI-01", blank_stock=20, change=20, reason="restock")
    printed = StationInventory(station_id="TPI-01", blank_stock=19, change=-1, reason="print")
    kafka = FakeKafka()
    await run_station(station_config, kafka, history=[restock, printed])
    assert kafka.inventory()[-1].blank_stock == 19
    # Restarted, it reads the same history again and applies nothing twice.
    await run_station(station_config, kafka, history=[restock, printed])
    assert kafka.inventory()[-1].blank_stock == 19
    # A restock sent while it was stopped is on the topic when it starts again: applied once.
    later = StationInventory(station_id="TPI-01", blank_stock=29, change=10, reason="restock")
    await run_station(station_config, kafka, history=[restock, printed, later])
    await run_station(station_config, kafka, history=[restock, printed, later])
    assert kafka.inventory()[-1].blank_stock == 29


def test_the_station_folder_and_cards_folder_are_private(station_config: StationConfig) -> None:
    """The journal and cards hold personal data: their folders are 0700."""
    engine = open_engine(station_config)
    engine.journal.close()
    for folder in (station_config.station_dir, station_config.out_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.parametrize(("blanks", "after_the_step"), [
    (10, {JobState.PRINTING: 2, JobState.RECEIVED: 1}),  # blanks for all: the verified jobs go on first
    (2, {JobState.VERIFIED: 3}),  # blanks short: the newcomer is verified first, so the queue's rule weighs it
])
async def test_verified_jobs_get_their_blanks_before_newcomers_are_verified_unless_blanks_are_short(
    station_config: StationConfig, blanks: int, after_the_step: dict[JobState, int],
) -> None:
    """Two jobs verified, a third arrives: the next step gives the two their blanks, or verifies the third first
    when the blanks would not cover all three."""
    kafka = FakeKafka()
    kafka.produce(valid_job(), valid_job())
    engine = open_engine(dataclasses.replace(station_config, initial_blanks=blanks))
    try:
        engine.start_stock([])
        take_in_all(engine, kafka)
        await engine.step()
        assert engine.journal.state_counts() == {JobState.VERIFIED: 2}
        kafka.produce(valid_job())
        take_in_all(engine, kafka)
        await engine.step()
        assert engine.journal.state_counts() == after_the_step
    finally:
        engine.journal.close()


@pytest.fixture
def journal_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The job key of every job parsed again from the journal's copy."""
    parsed: list[str] = []
    parse = JobRow.job

    def counting(row: JobRow) -> PrintRequested:
        parsed.append(row.job_key)
        return parse(row)

    monkeypatch.setattr(JobRow, "job", counting)
    return parsed


async def test_jobs_taken_in_are_verified_as_intake_parsed_them(
    station_config: StationConfig, journal_parses: list[str],
) -> None:
    """Verification takes the jobs intake parsed instead of parsing the journal's copies again."""
    kafka = FakeKafka()
    kafka.produce(valid_job(), valid_job())
    await run_station(dataclasses.replace(station_config, instant=True), kafka)  # a drawn card reads its job
    assert len(kafka.cards()) == 2
    assert journal_parses == []


@pytest.mark.parametrize("kept", [None, 1])
async def test_jobs_not_kept_parsed_are_verified_from_the_journal(
    station_config: StationConfig, journal_parses: list[str], monkeypatch: pytest.MonkeyPatch, kept: int | None,
) -> None:
    """Jobs journaled before a restart, and every job once more arrive than are kept parsed, are parsed from the
    journal and verified."""
    config = dataclasses.replace(station_config, instant=True)
    kafka = FakeKafka()
    kafka.produce(valid_job(), valid_job())
    with pytest.raises(SimulatedCrash):
        await run_station(crashing(config, CrashPoint.AFTER_COMMIT, 1), kafka)
    if kept is not None:
        monkeypatch.setattr(engine_module, "PARSED_KEPT", kept)
    kafka.produce(valid_job(), valid_job())
    await run_station(config, kafka)
    assert len(kafka.cards()) == 4
    assert len(journal_parses) == (2 if kept is None else 4)
