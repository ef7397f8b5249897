"""The printing station as a real process on the real broker: print once, refuse forgeries, wait for blanks,
survive SIGKILL at every crash point.

Each test has its own office code (so its own consumer group and jobs) and its own station id.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import stat
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from joserfc.jwk import OKPKey

from events.printing import CardPrinted, PrintRequested, StationInventory
from events.status import StatusNoted
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import client_options
from pipeline.station.crash import CrashPoint
from pipeline.topology.acls import WORKER_ROLE
from pipeline.topology.topics import PRINT_COMPLETED, PRINT_REQUESTED, STATION_INVENTORY, STATUS_NOTES
from tests.support.env import free_port, settings_env
from tests.support.topics import Records, read_until
from tests.support.waiting import wait_until_async
from tests.unit.pipeline.station.fakes import JwksServer, central_key, print_job

pytestmark = pytest.mark.integration

_log_numbers = itertools.count(1)


class Station:
    """`python -m pipeline station run ...` as a child process, its log in a file."""

    def __init__(self, settings: Settings, station_id: str, office: str, *args: str, crash_at: str | None = None):
        self.station_id = station_id
        self.log_path = settings.run_dir / f"station-{station_id}-{next(_log_numbers)}.log"
        env = settings_env(settings)
        if crash_at:
            env["EKTP_STATION_CRASH_AT"] = crash_at
        with self.log_path.open("w") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "station", "run", "--station", station_id, "--office", office,
                 *args], env=env, stdout=log, stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, timeout: float = 30.0) -> None:
        async def up() -> bool:
            assert self.popen.poll() is None, f"station exited {self.popen.returncode}:\n{self.log()[-3000:]}"
            return "station ready" in self.log()

        await wait_until_async(up, timeout=timeout, what=f"station {self.station_id} is ready")

    async def exited(self, timeout: float = 30.0) -> int:
        await wait_until_async(lambda: _done(self.popen), timeout=timeout, what=f"{self.station_id} exits")
        return self.popen.returncode

    def stop(self, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode


async def _done(popen: subprocess.Popen[bytes]) -> bool:
    return popen.poll() is not None


@pytest.fixture
async def central(kafka: Settings) -> AsyncIterator[tuple[JwksServer, OKPKey]]:
    """Central's JWK Set served from the test, with the key that signs the test's approvals."""
    await ensure_topics(kafka)
    key = central_key()
    server = await JwksServer(key).start()
    try:
        yield server, key
    finally:
        await server.stop()


@pytest.fixture
def station_settings(kafka: Settings, run_dir: Path, central: tuple[JwksServer, OKPKey]) -> Settings:
    """The broker's settings with the test's own run folder and the test's central."""
    return kafka.model_copy(update={"run_dir": run_dir, "central_url": central[0].url})


async def produce(settings: Settings, jobs: Sequence[PrintRequested]) -> None:
    """Put print jobs on the topic as the worker does, with the worker's role: the only one that may write it."""
    producer = AIOKafkaProducer(**client_options(settings, WORKER_ROLE), acks="all")
    await producer.start()
    try:
        for job in jobs:
            await producer.send_and_wait(PRINT_REQUESTED.name, job.model_dump_json().encode(),
                                         key=job.office_code.encode())
    finally:
        await producer.stop()


def cards_of(records: Records, station_id: str) -> list[CardPrinted]:
    """The cards `station_id` printed among `records`. The session's topic holds other writers' records too (other
    tests' stations, the authorization test's probe of a station's write), which need not be cards at all."""
    cards = [CardPrinted.model_validate_json(record.value) for record in records
             if record.value and station_id.encode() in record.value]
    return [card for card in cards if card.station_id == station_id]


async def printed(
    settings: Settings, station_id: str, request_ids: set[str], timeout: float = 40.0
) -> list[CardPrinted]:
    """The station's print.completed events, once every request of `request_ids` has one."""
    def done(records: Records) -> bool:
        return request_ids <= {card.request_id for card in cards_of(records, station_id)}

    return cards_of(await read_until(settings, PRINT_COMPLETED.name, done, timeout=timeout), station_id)


async def notes_for(settings: Settings, request_ids: set[str], state: str) -> list[StatusNoted]:
    def matching(records: Records) -> list[StatusNoted]:
        notes = [StatusNoted.model_validate_json(record.value) for record in records if record.value]
        return [note for note in notes if note.request_id in request_ids and note.state == state]

    def done(records: Records) -> bool:
        return {note.request_id for note in matching(records)} >= request_ids

    return matching(await read_until(settings, STATUS_NOTES.name, done, timeout=40))


def card_files(settings: Settings, station_id: str) -> list[Path]:
    return sorted((settings.run_dir / f"station-{station_id}" / "cards").glob("*.png"))


def restock(settings: Settings, station_id: str, count: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "station", "restock", "--station", station_id, "--count", str(count)],
        env=settings_env(settings), check=False, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def one_card_per_request(cards: Sequence[CardPrinted]) -> dict[str, int]:
    serials: dict[str, set[str]] = {}
    for card in cards:
        serials.setdefault(card.request_id, set()).add(card.card_serial)
    return {request: len(found) for request, found in serials.items()}


async def test_valid_jobs_print_exactly_once_with_restock_given_before_the_station_started(
    station_settings: Settings, central: tuple[JwksServer, OKPKey]
) -> None:
    """Three signed jobs for office 2172: three cards, one each, as PNGs named by serial in a 0700 folder."""
    _server, key = central
    restock(station_settings, "IT-PRINT", 5)  # no station runs yet: it takes the stock when it starts
    jobs = [print_job(key, office_code="2172") for _ in range(3)]
    await produce(station_settings, [*jobs, print_job(key, office_code="2199")])  # another office's job
    metrics_port = free_port()
    station = Station(station_settings, "IT-PRINT", "2172", "--metrics-port", str(metrics_port))
    try:
        await station.ready()
        cards = await printed(station_settings, "IT-PRINT", {job.request_id for job in jobs})
        metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{metrics_port}/metrics")
    finally:
        assert station.stop() == 0, station.log()[-3000:]
    assert one_card_per_request(cards) == {job.request_id: 1 for job in jobs}
    files = card_files(station_settings, "IT-PRINT")
    assert sorted(path.name for path in files) == sorted(f"{card.card_serial}.png" for card in cards)
    assert not any(job.card.nik in path.name or job.card.nik in station.log() for job in jobs for path in files)
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    assert 'ektp_station_cards_printed_total{station="IT-PRINT"} 3.0' in metrics
    assert 'ektp_station_blank_stock{station="IT-PRINT"} 2.0' in metrics
    for job in jobs:
        assert job.card.nik not in metrics


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a loopback URL of the test's own)
        return str(response.read().decode())


async def test_a_forged_job_is_refused_raised_as_a_security_alert_and_never_printed(
    station_settings: Settings, central: tuple[JwksServer, OKPKey]
) -> None:
    """A job signed by a forger's key under central's kid: refused, alerted, noted; the genuine job prints."""
    _server, key = central
    forged = print_job(central_key(key.kid), office_code="2171")
    genuine = print_job(key, office_code="2171")
    await produce(station_settings, [forged, genuine])
    station = Station(station_settings, "IT-FORGED", "2171", "--initial-blanks", "5", "--metrics-port", "0")
    try:
        await station.ready()
        cards = await printed(station_settings, "IT-FORGED", {genuine.request_id})
        [note] = await notes_for(station_settings, {forged.request_id}, "PRINT_QUEUED")
    finally:
        assert station.stop() == 0
    assert [card.request_id for card in cards] == [genuine.request_id]
    assert len(card_files(station_settings, "IT-FORGED")) == 1
    assert note.note == "print refused: approval signature invalid"
    alerts = [json.loads(line) for line in station.log().splitlines() if "SECURITY ALERT" in line]
    assert [(alert["level"], alert["request_id"], alert["kid"]) for alert in alerts] == [
        ("critical", forged.request_id, key.kid),
    ]
    assert forged.card.nik not in station.log()


async def test_out_of_blanks_jobs_wait_and_print_after_a_restock(
    station_settings: Settings, central: tuple[JwksServer, OKPKey]
) -> None:
    """No blanks: WAITING_FOR_BLANKS for each job; `ektp station restock` makes them print."""
    _server, key = central
    jobs = [print_job(key, office_code="2101") for _ in range(2)]
    station = Station(station_settings, "IT-BLANKS", "2101", "--metrics-port", "0")
    try:
        await station.ready()
        await produce(station_settings, jobs)
        await notes_for(station_settings, {job.request_id for job in jobs}, "WAITING_FOR_BLANKS")
        restock(station_settings, "IT-BLANKS", 5)
        cards = await printed(station_settings, "IT-BLANKS", {job.request_id for job in jobs})

        def counted(records: Records) -> bool:
            latest = _latest_inventory(records, "IT-BLANKS")
            return latest is not None and latest.blank_stock == 3

        await read_until(station_settings, STATION_INVENTORY.name, counted, timeout=20)
    finally:
        assert station.stop() == 0
    assert one_card_per_request(cards) == {job.request_id: 1 for job in jobs}


def _latest_inventory(records: Records, station_id: str) -> StationInventory | None:
    events = [StationInventory.model_validate_json(record.value) for record in records
              if record.key == station_id.encode() and record.value]
    return events[-1] if events else None


# The office and nth passage of each crash point: after_commit, mid_reserve and mid_record happen once per
# batch, the rest per job. The three jobs are one batch: mid_render:2 kills the second card of a batch whose
# blanks are all reserved, and mid_reserve and mid_record kill inside a batch's synced transaction.
CRASHES: dict[CrashPoint, tuple[str, int]] = {
    CrashPoint.AFTER_COMMIT: ("2102", 1),
    CrashPoint.AFTER_VERIFY: ("2103", 2),
    CrashPoint.MID_RESERVE: ("2108", 1),
    CrashPoint.AFTER_RESERVE: ("2104", 2),
    CrashPoint.MID_RENDER: ("2105", 2),
    CrashPoint.AFTER_PNG: ("2106", 2),
    CrashPoint.MID_RECORD: ("2109", 1),
    CrashPoint.AFTER_REPORT: ("2107", 2),
}


async def test_sigkill_at_every_crash_point_then_restart_prints_every_request_exactly_once(
    station_settings: Settings, central: tuple[JwksServer, OKPKey]
) -> None:
    """Eight stations, each SIGKILLed at one crash point and restarted: three requests each, three cards."""
    _server, key = central
    jobs = {point: [print_job(key, office_code=office) for _ in range(3)] for point, (office, _n) in CRASHES.items()}
    await produce(station_settings, [job for batch in jobs.values() for job in batch])

    async def crash_and_recover(point: CrashPoint) -> Callable[[], None]:
        office, nth = CRASHES[point]
        station_id = f"IT-CRASH-{office}"
        first = Station(station_settings, station_id, office, "--initial-blanks", "10", "--metrics-port", "0",
                        crash_at=f"{point.value}:{nth}")
        code = await first.exited(timeout=40)
        assert code == -signal.SIGKILL, f"{point}: exited {code}, not SIGKILLed:\n{first.log()[-2000:]}"
        second = Station(station_settings, station_id, office, "--metrics-port", "0")
        try:
            await second.ready()
            await printed(station_settings, station_id, {job.request_id for job in jobs[point]})
        finally:
            assert second.stop() == 0, second.log()[-3000:]
        # Read again once it stopped: a print.completed re-sent after the crash is there too.
        cards = await printed(station_settings, station_id, {job.request_id for job in jobs[point]})

        def check() -> None:
            assert one_card_per_request(cards) == {job.request_id: 1 for job in jobs[point]}, point
            assert len(card_files(station_settings, station_id)) == 3, point
            assert len({card.event_id for card in cards}) == 3, point  # a re-sent card is the same event

        return check

    checks = await asyncio.gather(*(crash_and_recover(point) for point in CRASHES))
    for check in checks:
        check()
