"""The intake and status tracker on the real broker: a mixed batch gives exactly the expected outcomes."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from events.approval import DeadLetterHeader as H
from events.approval import FailureReason
from events.enrollment import EnrollmentRecorded, EnrollmentRejected
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.desk.enroll import DESK_ROLE
from pipeline.desk.pickup import PICKUP_ROLE
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import client_options
from pipeline.topology.acls import WORKER_ROLE
from pipeline.topology.topics import (
    CITIZEN_INBOX,
    ENROLLMENT_RECORDED,
    ENROLLMENT_REJECTED,
    ENROLLMENT_SUBMITTED,
    PICKUP_REQUESTED,
    REQUEST_STATUS,
    UNREADABLE,
)
from tests.support.app_ids import app_id_of_its_own, authorize_app_id
from tests.support.processes import Process, run_ektp
from tests.support.submissions import encode, fresh_resident
from tests.support.topics import Records, latest_statuses, read_until
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """`ektp worker` as its own process on the test broker, stopped (and checked) at the end.

    Its own app id: a consumer group and tables of its own, whatever other tests' workers did before; the
    broker's ACLs are that app id's while the module runs (`tests.support.app_ids`).
    """
    settings = app_id_of_its_own(kafka, "ektp-intake-test")
    asyncio.run(authorize_app_id(settings))
    try:
        process = Process("worker", ["worker"], settings, tmp_path_factory.mktemp("worker"))
        yield process
        exit_code = process.stop()
        assert exit_code == 0, process.tail()
    finally:
        asyncio.run(authorize_app_id(kafka))


async def produce(
    settings: Settings, messages: list[tuple[bytes | None, bytes]], topic: str = ENROLLMENT_SUBMITTED.name,
    *, role: str = DESK_ROLE,
) -> None:
    """Send `messages` to `topic` as the program of `role` that writes it (by default a recording desk)."""
    producer = AIOKafkaProducer(**client_options(settings, role), acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def _nik(document: dict[str, Any]) -> str:
    nik: str = document["resident"]["nik"]
    return nik


async def test_a_mixed_batch_ends_in_exactly_the_expected_topics_and_states(
    kafka: Settings, worker: Process, tmp_path: Path
) -> None:
    """Good, invalid, malformed, repeated and second-open submissions each end where the contract says."""
    await ensure_topics(kafka)
    rng = random.Random()
    good = [fresh_resident(rng) for _ in range(5)]
    second_request = {**fresh_resident(rng), "resident": good[1]["resident"]}  # same citizen, new request_id
    serial_zero = fresh_resident(rng)
    serial_zero["resident"]["nik"] = _nik(serial_zero)[:12] + "0000"
    sex_mismatch = fresh_resident(rng)
    sex_mismatch["resident"]["sex"] = "female" if sex_mismatch["resident"]["sex"] == "male" else "male"
    unknown_enum = fresh_resident(rng)
    unknown_enum["resident"]["religion"] = "atheist"
    not_json = b'{"request_id": "broken-' + rng.randbytes(4).hex().encode() + b'", '
    not_utf8 = b"\xff\xfe" + rng.randbytes(16)
    # The repeat comes before a later request of the same citizen (same partition), so when that
    # later request's outcome is visible, the repeat has been processed too.
    repeat_then_probe = {**fresh_resident(rng), "resident": good[0]["resident"]}

    messages: list[tuple[bytes | None, bytes]] = [(_nik(d).encode(), encode(d)) for d in good]
    messages += [
        (_nik(good[0]).encode(), encode(good[0])),  # the same request again, byte for byte
        (_nik(second_request).encode(), encode(second_request)),
        (_nik(serial_zero).encode(), encode(serial_zero)),
        (_nik(sex_mismatch).encode(), encode(sex_mismatch)),
        (_nik(unknown_enum).encode(), encode(unknown_enum)),
        (b"desk-7", not_json),
        (None, not_utf8),
        (_nik(repeat_then_probe).encode(), encode(repeat_then_probe)),
    ]
    await produce(kafka, messages)

    good_ids = {d["request_id"] for d in good}
    refused_ids = {d["request_id"] for d in (second_request, serial_zero, sex_mismatch, unknown_enum,
                                             repeat_then_probe)}
    # Messages without a readable request_id are known by their kept bytes.
    unreadable = {not_json.decode(), base64.b64encode(not_utf8).decode()}

    def ours_rejected(records: Records) -> list[EnrollmentRejected]:
        found = [EnrollmentRejected.model_validate_json(r.value) for r in records]
        return [r for r in found if r.request_id in refused_ids or r.raw_value in unreadable]

    rejected_records = await read_until(
        kafka, ENROLLMENT_REJECTED.name, lambda rs: len(ours_rejected(rs)) >= 7, timeout=90,
    )
    rejected = ours_rejected(rejected_records)
    recorded_records = await read_until(
        kafka, ENROLLMENT_RECORDED.name,
        lambda rs: good_ids <= {EnrollmentRecorded.model_validate_json(r.value).request_id for r in rs},
    )
    recorded = [
        event for event in (EnrollmentRecorded.model_validate_json(r.value) for r in recorded_records)
        if event.request_id in good_ids | refused_ids
    ]

    assert sorted(event.request_id for event in recorded) == sorted(good_ids), "each good request once"
    by_request = {r.request_id: {e.code for e in r.errors} for r in rejected if r.request_id_known}
    assert by_request == {
        second_request["request_id"]: {"OPEN_REQUEST_EXISTS"},
        repeat_then_probe["request_id"]: {"OPEN_REQUEST_EXISTS"},
        serial_zero["request_id"]: {"NIK_SERIAL_ZERO"},
        sex_mismatch["request_id"]: {"NIK_SEX_MISMATCH"},
        unknown_enum["request_id"]: {"VALUE_NOT_ALLOWED"},
    }
    anonymous = sorted(e.code for r in rejected if not r.request_id_known for e in r.errors)
    assert anonymous == ["MESSAGE_NOT_JSON", "MESSAGE_NOT_UTF8"]
    assert len(rejected) == 7, "each rejection once"

    # No central runs in this test: recorded requests go on to central and wait for it.
    recorded_or_beyond = frozenset(
        {RequestState.RECORDED, RequestState.SENT_FOR_ENROLLMENT, RequestState.AWAITING_CENTRAL}
    )
    expected = dict.fromkeys(good_ids, recorded_or_beyond)
    expected |= dict.fromkeys(refused_ids, frozenset({RequestState.REJECTED}))

    def all_there(records: Records) -> bool:
        latest = latest_statuses(records)
        return all(request_id in latest and latest[request_id].state in states
                   for request_id, states in expected.items())

    status_records = await read_until(kafka, REQUEST_STATUS.name, all_there)
    statuses = latest_statuses(status_records)
    assert statuses[serial_zero["request_id"]].error_codes == ("NIK_SERIAL_ZERO",)
    assert statuses[good[0]["request_id"]].nik_masked == _nik(good[0])[:6] + "******" + _nik(good[0])[-4:]
    assert all(statuses[request_id].explanation_id for request_id in expected)

    worker_log = worker.log()
    assert worker_log, "the worker logs what it does"
    leaked = [_nik(d) for d in [*good, serial_zero, sex_mismatch, unknown_enum] if _nik(d) in worker_log]
    assert not leaked, "a full NIK reached the worker's log"
    assert all(json.dumps(status.model_dump(mode="json")).count(_nik(good[0])) == 0 for status in statuses.values())


async def test_ektp_status_shows_a_request_s_state_and_timeline(kafka: Settings, worker: Process) -> None:
    """`ektp status ID --json` prints the tracker's latest state; an unknown id exits 1."""
    await ensure_topics(kafka)
    document = fresh_resident(random.Random())
    await produce(kafka, [(_nik(document).encode(), encode(document))])
    request_id = document["request_id"]
    # No central runs here: the request settles in AWAITING_CENTRAL, so both reads below see one state.
    await read_until(
        kafka, REQUEST_STATUS.name,
        lambda rs: latest_statuses(rs).get(request_id, None) is not None
        and latest_statuses(rs)[request_id].state == RequestState.AWAITING_CENTRAL,
        timeout=60,
    )
    shown = run_ektp("status", request_id, "--json", settings=kafka)
    assert shown.returncode == 0, shown.stderr
    status = RequestStatus.model_validate_json(shown.stdout)
    assert status.timeline[0].state == RequestState.RECORDED
    assert status.state == status.timeline[-1].state
    human = run_ektp("status", request_id, settings=kafka)
    assert "RECORDED" in human.stdout
    assert status.explanation_id in human.stdout
    assert _nik(document) not in human.stdout + shown.stdout
    assert run_ektp("status", "no-such-request", "--json", settings=kafka).returncode == 1


async def test_a_message_no_step_can_read_is_set_aside_with_its_bytes_and_the_pipeline_goes_on(
    kafka: Settings, worker: Process
) -> None:
    """Garbage on a step's topic lands on the unreadable stream, bytes and reason kept; the next request records."""
    await ensure_topics(kafka)
    marker = uuid.uuid4().hex
    bad_pickup = b'{"request_id": "' + marker.encode() + b'", "finger": 7}'  # a pickup desk's wrong field type
    bad_internal = b"not a validated submission " + marker.encode()
    await produce(kafka, [(marker.encode(), bad_pickup)], topic=PICKUP_REQUESTED.name, role=PICKUP_ROLE)
    # The inbox is the pipeline's own: only its worker (and the operators' replay) may write it.
    await produce(kafka, [(marker.encode(), bad_internal)], topic=CITIZEN_INBOX.name, role=WORKER_ROLE)
    after = fresh_resident(random.Random())
    await produce(kafka, [(_nik(after).encode(), encode(after))])

    def ours(records: Records) -> dict[bytes, dict[str, bytes]]:
        return {record.value: dict(record.headers) for record in records if marker.encode() in record.value}

    set_aside = ours(await read_until(kafka, UNREADABLE.name, lambda records: len(ours(records)) == 2))
    assert set(set_aside) == {bad_pickup, bad_internal}, "the raw bytes, unchanged"
    pickup_headers, internal_headers = set_aside[bad_pickup], set_aside[bad_internal]
    assert pickup_headers[H.STAGE] == b"follow_cards"
    assert pickup_headers[H.ORIGINAL_TOPIC] == PICKUP_REQUESTED.name.encode()
    assert internal_headers[H.STAGE] == b"record_and_approve"
    assert {pickup_headers[H.REASON], internal_headers[H.REASON]} == {FailureReason.UNREADABLE.encode()}
    assert pickup_headers[H.ERROR_CLASS].endswith(b"ValidationError")
    await read_until(kafka, REQUEST_STATUS.name,
                     lambda rs: latest_statuses(rs).get(after["request_id"]) is not None, timeout=60)
    assert worker.alive(), worker.tail()



async def test_a_restarted_worker_recovers_its_tables_and_goes_on(
    kafka: Settings, worker: Process, tmp_path: Path
) -> None:
    """After the worker wrote its tables, a second worker process recovers them and keeps processing."""
    await ensure_topics(kafka)
    rng = random.Random()
    first = fresh_resident(rng)
    await produce(kafka, [(_nik(first).encode(), encode(first))])
    await read_until(kafka, REQUEST_STATUS.name,
                     lambda rs: latest_statuses(rs).get(first["request_id"]) is not None
                     and latest_statuses(rs)[first["request_id"]].state == RequestState.AWAITING_CENTRAL)
    assert worker.stop() == 0, worker.tail()
    again = Process("worker-again", ["worker"], kafka.model_copy(update={"app_id": worker.app_id}), tmp_path)
    try:
        # Send once it has recovered its tables (a message arriving mid-recovery is the chaos suite's case).
        wait_until(lambda: "Worker ready" in again.log(), timeout=90, what="the restarted worker recovered")
        second = fresh_resident(rng)
        await produce(kafka, [(_nik(second).encode(), encode(second))])
        await read_until(kafka, REQUEST_STATUS.name,
                         lambda rs: latest_statuses(rs).get(second["request_id"]) is not None
                         and latest_statuses(rs)[second["request_id"]].state == RequestState.AWAITING_CENTRAL,
                         timeout=90)
        assert "Error in recovery" not in again.log()
    finally:
        assert again.stop() == 0, again.tail()
