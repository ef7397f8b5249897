"""Another vendor's printing station (examples/station-java/) in place of the project's own, on a private system.

It speaks only the published contract. Every card is printed once and collected by its citizen, even with the
station killed with a card just out and every job sent to it twice; forged and altered approvals are refused,
never printed, and noted on their request where an operator looks it up.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from jsonschema import Draft202012Validator, FormatChecker

from events.common import WIB, utc_now
from events.pickup import PickupRequested
from events.printing import CardPrinted
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.desk.pickup import request_pickup
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.reading import read_topic
from pipeline.kafka.security import ADMIN_ROLE, client_options, portable_options
from pipeline.proving.sandbox import Sandbox
from pipeline.proving.synthetic import generate_submissions
from pipeline.topology.acls import WORKER_ROLE
from pipeline.topology.topics import PRINT_COMPLETED, PRINT_REQUESTED, REQUEST_STATUS
from tests.support import ROOT
from tests.support.topics import Records, latest_statuses, read_until
from tests.support.waiting import wait_until_async
from tests.unit.pipeline.station.fakes import JwksServer, central_key, print_job, sign

pytestmark = pytest.mark.integration

EXAMPLE = ROOT / "examples" / "station-java"
STATION = "JAVA-IT"
OFFICE = "2172"
COUNT = 4
REFUSAL_NOTE = "print refused: approval signature invalid"
Job = dict[str, Any]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def station_jar() -> Path:
    """The example built with Maven once per session; without Java or Maven it is skipped, but fails in CI."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        if _in_ci():
            pytest.fail(f"the Java station needs {' and '.join(missing)}", pytrace=False)
        pytest.skip(f"the Java station needs {' and '.join(missing)}")
    built = subprocess.run(["mvn", "-q", "-B", "-f", str(EXAMPLE / "pom.xml"), "package"],
                           capture_output=True, text=True, timeout=600, check=False)
    if built.returncode != 0:
        pytest.fail(f"mvn package failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}", pytrace=False)
    return EXAMPLE / "target" / "ektp-station-java.jar"


def write_credentials(settings: Settings, path: Path) -> Path:
    """The station role's credentials as `ektp credentials --role station --json` prints them, in a 0600 file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(json.dumps(portable_options(settings, "station")))
    return path


class JavaStation:
    """`java -jar ektp-station-java.jar` against the private system, as the station role; its log in a file."""

    def __init__(
        self, jar: Path, settings: Settings, folder: Path, *, station: str = STATION, office: str = OFFICE,
        crash_at: str | None = None,
    ) -> None:
        self.cards = folder / "cards"
        self.log_path = folder / f"station-{uuid.uuid4().hex[:8]}.log"
        # The bootstrap servers come from the credentials file, as a vendor's station would take them.
        credentials = write_credentials(settings, folder / "station-credentials.json")
        environment = {name: value for name, value in os.environ.items() if not name.startswith("STATION_")}
        if crash_at is not None:
            environment["STATION_CRASH_AT"] = crash_at
        with self.log_path.open("w") as log:
            self.popen = subprocess.Popen(
                ["java", "-Xmx128m", "-jar", str(jar), "--credentials", str(credentials),
                 "--central-url", settings.central_url, "--station", station, "--office", office,
                 "--out-dir", str(self.cards), "--state-dir", str(folder / "state")],
                env=environment, stdout=log, stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """The station's log lines about `name` (kafka-clients' own warnings are plain text and left out)."""
        lines = [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]
        return [line for line in lines if line["event"] == name]

    async def ready(self) -> None:
        async def up() -> bool:
            assert self.popen.poll() is None, f"station exited {self.popen.returncode}:\n{self.log()[-3000:]}"
            return bool(self.events("station ready"))

        await wait_until_async(up, timeout=30, what="the Java station is ready")

    async def killed(self) -> int:
        async def ended() -> bool:
            return self.popen.poll() is not None

        await wait_until_async(ended, timeout=90, what="the Java station halts at its crash point")
        return self.popen.returncode

    def stop(self) -> int:
        """SIGTERM, and SIGKILL if it does not end within 30 s: nothing is left running."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def claims(job: Job) -> dict[str, Any]:
    """What central signs for a print-ready request."""
    return {"iss": "central-sim", "sub": job["citizen_key"], "sub_kind": "citizen_key", "iat": 1_780_000_000,
            "request_id": job["request_id"], "decision": "PRINT_READY_RECORD",
            "decided_at": "2026-11-28T09:20:00+07:00"}


def altered(token: str, job: Job) -> str:
    """Central's genuine token with its payload rewritten for `job`, and its signature kept."""
    header, payload, signature = token.split(".")
    rewritten = {**b64decode(payload), "request_id": job["request_id"], "sub": job["citizen_key"]}
    return f"{header}.{b64url(json.dumps(rewritten).encode())}.{signature}"


def unsigned(job: Job) -> str:
    """A token that claims to need no signature at all (`alg` none)."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims(job)).encode())}."


def tampered_jobs(genuine: Job) -> dict[str, tuple[str, Job]]:
    """Jobs for requests central never approved, each with an approval forged or altered another way.

    By request id: the reason the station must give for refusing it, and the job (a copy of `genuine`).
    """
    central_kid = b64decode(genuine["approval_token"].split(".")[0])["kid"]
    forger = central_key()
    ways: list[tuple[str, Callable[[Job], str]]] = [
        ("bad_signature", lambda job: sign(forger, claims(job), kid=central_kid)),  # a forger's key, central's kid
        ("unknown_key", lambda job: sign(forger, claims(job))),  # a forger's key under its own kid
        ("bad_signature", lambda job: altered(genuine["approval_token"], job)),  # central's token, payload altered
        ("request_mismatch", lambda _job: str(genuine["approval_token"])),  # central's token for another request
        ("malformed_token", unsigned),  # alg "none"
    ]
    jobs: dict[str, tuple[str, Job]] = {}
    for reason, token_for in ways:
        request_id = str(uuid.uuid4())
        job = {**genuine, "event_id": str(uuid.uuid4()), "request_id": request_id, "job_id": request_id,
               "citizen_key": secrets.token_hex(32)}
        jobs[request_id] = (reason, {**job, "approval_token": token_for(job)})
    return jobs


async def produce(settings: Settings, jobs: list[bytes], office: str = OFFICE) -> None:
    """Jobs on `ektp.print.requested`, keyed by office code as print dispatch keys them, in this order."""
    # As the worker: the test plays print dispatch, the one writer of this topic.
    producer = AIOKafkaProducer(**client_options(settings, WORKER_ROLE), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in jobs:
            await producer.send_and_wait(PRINT_REQUESTED.name, value, key=office.encode())
    finally:
        await producer.stop()


async def statuses_when(
    settings: Settings, done: Callable[[dict[str, RequestStatus]], bool]
) -> dict[str, RequestStatus]:
    def read_enough(records: Records) -> bool:
        return done(latest_statuses(records))

    return latest_statuses(await read_until(settings, REQUEST_STATUS.name, read_enough, timeout=90))


def all_in(ids: set[str], state: RequestState) -> Callable[[dict[str, RequestStatus]], bool]:
    return lambda statuses: all(request_id in statuses and statuses[request_id].state == state for request_id in ids)


def refusal_noted(status: RequestStatus | None) -> bool:
    return status is not None and any((entry.note or "").startswith(REFUSAL_NOTE) for entry in status.timeline)


async def test_the_java_station_prints_each_card_once_and_refuses_forged_approvals(
    station_jar: Path, tmp_path: Path
) -> None:
    """Killed with a card out and sent every job twice, it prints one card a request; tampered jobs are refused."""
    submissions = generate_submissions(COUNT, seed=random.randrange(2**31), today=dt.datetime.now(WIB).date())
    thumbs: dict[str, str] = {s.request_id: s.document()["biometrics"]["fingerprints"]["right_thumb"]
                              for s in submissions if s.request_id is not None}
    ids = set(thumbs)
    sandbox = Sandbox(only=("central-sim", "worker"), central_flags=("--latency-ms", "0"), topic_partitions=3,
                      broker_heap="384m")
    async with sandbox as settings:
        crashing = JavaStation(station_jar, settings, tmp_path, crash_at="after-card")
        try:
            await crashing.ready()
            await send_submissions(settings, submissions)
            assert await crashing.killed() == 137, crashing.log()[-3000:]
        finally:
            crashing.stop()
        station = JavaStation(station_jar, settings, tmp_path)
        try:
            await station.ready()
            await statuses_when(settings, all_in(ids, RequestState.READY_FOR_PICKUP))
            for request_id, thumb in thumbs.items():
                await request_pickup(settings, PickupRequested(
                    request_id=request_id, finger="right_thumb", fingerprint=thumb, desk_id="AMBIL-IT",
                    requested_at=utc_now()))
            collected = await statuses_when(settings, all_in(ids, RequestState.COLLECTED))

            genuine = [record.value for record in await read_topic(settings, PRINT_REQUESTED.name, role=ADMIN_ROLE)]
            tampered = tampered_jobs(json.loads(genuine[0]))
            # Every genuine job a second time, then the tampered ones, all in the office's one partition.
            await produce(settings, [*genuine, *(json.dumps(job).encode() for _reason, job in tampered.values())])
            noted = await statuses_when(
                settings, lambda statuses: all(refusal_noted(statuses.get(request_id)) for request_id in tampered))
        finally:
            assert station.stop() in (0, 143), station.log()[-3000:]  # 143: the JVM's exit on SIGTERM
        printed = await read_topic(settings, PRINT_COMPLETED.name, role=ADMIN_ROLE)

    assert all(refusal_noted(noted[request_id]) and noted[request_id].state == RequestState.PRINT_QUEUED
               for request_id in tampered)
    alerts = {alert["request_id"]: alert["reason"] for alert in station.events("SECURITY ALERT forged approval")}
    assert alerts == {request_id: reason for request_id, (reason, _job) in tampered.items()}

    schema = json.loads((ROOT / "docs" / "contracts" / "CardPrinted.schema.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for record in printed:
        assert not list(validator.iter_errors(json.loads(record.value))), record.value
    cards = [CardPrinted.model_validate_json(record.value) for record in printed]
    assert all(record.key == card.citizen_key.encode() for record, card in zip(printed, cards, strict=True))
    serials: dict[str, set[str]] = {}
    for card in cards:
        serials.setdefault(card.request_id, set()).add(card.card_serial)
    assert {request_id: len(found) for request_id, found in serials.items()} == dict.fromkeys(ids, 1)
    assert {status.request_id for status in collected.values() if status.request_id in ids} == ids
    files = sorted(station.cards.glob("*.json"))
    assert sorted(json.loads(path.read_text())["request_id"] for path in files) == sorted(ids)
    assert not list(station.cards.glob("*.partial"))
    # The card that came out as the first station was killed was found, not printed again; so was every repeat.
    assert len(station.events("card found printed after a restart")) == 1
    # (More when a commit failed and a batch came again: never a card more.)
    assert len(station.events("request already has a card: not printed again")) >= COUNT + 1
    assert not any(job["card"]["nik"] in station.log() for _reason, job in tampered.values())
    password = json.loads((tmp_path / "station-credentials.json").read_text())["sasl_plain_password"]
    assert password not in crashing.log()
    assert password not in station.log()


async def test_a_job_waits_while_central_s_keys_cannot_be_fetched_and_prints_once_they_can(
    station_jar: Path, kafka: Settings, tmp_path: Path
) -> None:
    """Central's JWK Set unreachable: the job is not printed and its unknown kid is asked for again until it is."""
    await ensure_topics(kafka)
    key = central_key()
    central = await JwksServer(key).start()
    central.failing = True
    office, station_id = "2195", f"JAVA-{uuid.uuid4().hex[:6]}"  # an office of its own on the session's broker
    settings = kafka.model_copy(update={"central_url": central.url})
    job = print_job(key, office_code=office)
    station = JavaStation(station_jar, settings, tmp_path, station=station_id, office=office)
    try:
        await station.ready()
        await produce(settings, [job.model_dump_json().encode()], office)

        async def asked_twice() -> bool:
            return central.fetches >= 2

        await wait_until_async(asked_twice, timeout=30, what="the station asks central for its keys again")
        assert not list(station.cards.glob("*.json")), "printed without central's keys"
        central.failing = False

        def printed(records: Records) -> bool:
            return any(CardPrinted.model_validate_json(record.value).request_id == job.request_id
                       for record in records if record.value)

        await read_until(settings, PRINT_COMPLETED.name, printed, timeout=30)
    finally:
        assert station.stop() in (0, 143), station.log()[-3000:]
        await central.stop()
    assert len(list(station.cards.glob("*.json"))) == 1
    assert station.events("approval not verifiable now: central's keys unavailable; job waits")
    assert not station.events("SECURITY ALERT forged approval")
