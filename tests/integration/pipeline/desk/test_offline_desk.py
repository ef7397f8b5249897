"""A recording desk while the office's broker is down: it saves, says so, and sends everything once it is back.

A private broker (stopped and started by the test) and real `ektp` processes: `ektp enroll --desk`,
`ektp desk status`, `ektp desk run`, a desk SIGKILLed in the middle of sending.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from events.desk import DeskOutboxReported
from events.masking import SIXTEEN_DIGITS
from pipeline.config import Settings
from pipeline.desk.enroll import read_submission_file
from pipeline.desk.outbox import Outbox, outbox_path
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.sandbox import Sandbox
from pipeline.proving.synthetic import generate_submissions, write_json_lines
from pipeline.topology.topics import DESK_OUTBOX, ENROLLMENT_SUBMITTED
from tests.support.processes import Process, run_ektp
from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.integration

DESK = "REKAM-01"


def desk_status(settings: Settings) -> dict[str, object]:
    result = run_ektp("desk", "status", "--desk", DESK, "--json", settings=settings, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    document: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return document


def pending(settings: Settings) -> int:
    with Outbox(outbox_path(settings.run_dir, DESK), DESK) as outbox:
        return outbox.state().pending


async def read_all(settings: Settings, topic: str) -> list[tuple[int, bytes | None, bytes]]:
    """Every (partition, key, value) of `topic` from its beginning, in each partition's order, read as the admin."""
    consumer = AIOKafkaConsumer(topic, **client_options(settings, ADMIN_ROLE), auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        await wait_until_async(lambda: asyncio.sleep(0, result=bool(consumer.assignment())), timeout=10,
                               what="the consumer has its partitions")
        partitions = consumer.assignment()
        ends = await consumer.end_offsets(list(partitions))
        records: list[tuple[int, bytes | None, bytes]] = []
        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            for tp, batch in (await consumer.getmany(timeout_ms=5000)).items():
                records += [(tp.partition, r.key, r.value or b"") for r in batch if r.offset < ends[tp]]
        return records
    finally:
        await consumer.stop()


def submissions_file(folder: Path, count: int, seed: int) -> tuple[Path, list[bytes]]:
    submissions = generate_submissions(count, seed=seed)
    path = folder / f"desk-{seed}.jsonl"
    with path.open("wb") as stream:
        write_json_lines(submissions, stream)
    return path, [submission.value for submission in submissions]


def in_recording_order(records: list[tuple[int, bytes | None, bytes]], recorded: list[bytes]) -> bool:
    """Each partition holds its submissions in the order they were recorded at the desk."""
    position = {value: number for number, value in enumerate(recorded)}
    by_partition: defaultdict[int, list[int]] = defaultdict(list)
    for partition, _key, value in records:
        by_partition[partition].append(position[value])
    return all(order == sorted(order) for order in by_partition.values())


async def test_with_the_broker_down_a_desk_saves_and_later_sends_each_submission_once_in_order(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox(only=())
    async with sandbox as settings:
        broker = sandbox.launcher
        file, recorded = submissions_file(tmp_path, 40, seed=15)
        await asyncio.to_thread(broker.stop)

        enrolled = run_ektp("enroll", str(file), "--desk", DESK, settings=settings, timeout=120)
        assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
        assert "saved at the desk: 40 submissions" in enrolled.stdout
        assert "40 waiting for the office server" in enrolled.stdout
        assert SIXTEEN_DIGITS.search(enrolled.stdout + enrolled.stderr) is None, "a full NIK was printed"
        status = desk_status(settings)
        assert (status["pending"], status["broker"], status["sent"], status["running"]) == (40, "down", 0, False)
        assert status["oldest_pending_at"] is not None

        desk = Process("desk", ["desk", "run", "--desk", DESK], settings, tmp_path)
        try:
            wait_until(lambda: desk.alive() and "desk started" in desk.log(), timeout=30, what="the desk runs")
            await asyncio.to_thread(broker.start)
            wait_until(lambda: pending(settings) == 0, timeout=90, what="the desk sent its outbox")
            status = desk_status(settings)
            assert (status["pending"], status["broker"], status["sent"], status["running"]) == (0, "up", 40, True)
            records = await read_all(settings, ENROLLMENT_SUBMITTED.name)
            assert sorted(value for _p, _k, value in records) == sorted(recorded)  # each once, none lost
            assert in_recording_order(records, recorded)
            reports = [DeskOutboxReported.model_validate_json(value)
                       for _p, key, value in await read_all(settings, DESK_OUTBOX.name) if key == DESK.encode()]
            assert reports
            assert (reports[-1].pending, reports[-1].sent) == (0, 40)
        finally:
            assert desk.stop() == 0, desk.tail()


async def test_a_desk_killed_while_sending_loses_nothing_and_repeats_at_most_a_batch(tmp_path: Path) -> None:
    async with Sandbox(only=()) as settings:
        file, recorded = submissions_file(tmp_path, 3000, seed=16)
        with Outbox(outbox_path(settings.run_dir, DESK), DESK) as outbox:  # what `enroll --desk` saves
            outbox.save((message.key, message.value) for message in read_submission_file(file))
        desk = Process("desk", ["desk", "run", "--desk", DESK], settings, tmp_path)
        try:
            wait_until(lambda: 0 < pending(settings) < 3000, timeout=60, what="the desk is part-way through")
        finally:
            desk.kill()
        assert pending(settings) > 0
        again = Process("desk-again", ["desk", "run", "--desk", DESK], settings, tmp_path)
        try:
            wait_until(lambda: pending(settings) == 0, timeout=90, what="the restarted desk sent the rest")
        finally:
            assert again.stop() == 0, again.tail()
        records = await read_all(settings, ENROLLMENT_SUBMITTED.name)
        values = [value for _p, _k, value in records]
        assert set(values) == set(recorded)  # nothing lost
        assert len(values) - len(set(values)) <= 500  # at most the batch in flight at the kill, read again
        first_index: dict[bytes, int] = {}
        for index, (_partition, _key, value) in enumerate(records):
            first_index.setdefault(value, index)
        first_copies = [records[index] for index in sorted(first_index.values())]
        assert in_recording_order(first_copies, recorded)
