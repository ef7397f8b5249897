"""`ektp enroll` and `ektp generate residents --send` on the real broker: the desk's bytes, unchanged."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from events.masking import SIXTEEN_DIGITS
from pipeline.config import Settings
from pipeline.desk.enroll import DeskMessage, send_submissions, submission_key
from pipeline.kafka.admin import admin_client, ensure_topics
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.synthetic import (
    JSON_LINES_MALFORMED,
    Mix,
    generate_documents,
    generate_submissions,
    write_json_lines,
)
from pipeline.topology.topics import ENROLLMENT_SUBMITTED
from tests.support.env import settings_env

pytestmark = pytest.mark.integration

TOPIC = ENROLLMENT_SUBMITTED.name
TODAY = dt.date(2026, 11, 28)
Message = tuple[bytes | None, bytes]


async def end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    """Where each partition of the submitted topic ends now, as the admin: the test observes what a desk wrote."""
    async with admin_client(settings) as admin:
        (described,) = await admin.describe_topics([TOPIC])
    partitions = [TopicPartition(TOPIC, partition["partition"]) for partition in described["partitions"]]
    assert partitions, described
    consumer = AIOKafkaConsumer(**client_options(settings, ADMIN_ROLE), enable_auto_commit=False)
    await consumer.start()
    try:
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()


async def written_between(
    settings: Settings, before: dict[TopicPartition, int], after: dict[TopicPartition, int]
) -> list[tuple[int, bytes | None, bytes]]:
    """Every (partition, key, value) written to the submitted topic between two sets of end offsets, read as the
    admin (a desk may not read it)."""
    records: list[tuple[int, bytes | None, bytes]] = []
    remaining = {partition for partition in after if after[partition] > before.get(partition, 0)}
    if not remaining:
        return records
    consumer = AIOKafkaConsumer(**client_options(settings, ADMIN_ROLE), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(remaining))
        for partition in remaining:
            consumer.seek(partition, before.get(partition, 0))
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=10_000)
            assert batches, "the broker returned nothing within 10 s"
            for partition, batch in batches.items():
                records += [(partition.partition, r.key, r.value) for r in batch if r.offset < after[partition]]
                if await consumer.position(partition) >= after[partition]:
                    remaining.discard(partition)
    finally:
        await consumer.stop()
    return records


async def ektp(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipeline ARGS` against the test broker, as a user would run `ektp`."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=settings_env(settings), capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert SIXTEEN_DIGITS.search(result.stdout + result.stderr) is None, "a full NIK was printed"
    return result


async def sent_by(settings: Settings, *args: str) -> tuple[list[tuple[int, bytes | None, bytes]], str]:
    """What one `ektp` command wrote to the submitted topic, and what it printed."""
    await ensure_topics(settings)
    before = await end_offsets(settings)
    result = await ektp(settings, *args)
    after = await end_offsets(settings)
    return await written_between(settings, before, after), result.stdout


def ours(records: list[tuple[int, bytes | None, bytes]], expected: list[Message]) -> Counter[Message]:
    """The (key, value) pairs among `records` that are among `expected` (other tests write here too)."""
    values = {value for _key, value in expected}
    return Counter((key, value) for _partition, key, value in records if value in values)


async def test_enroll_puts_exactly_the_files_lines_unchanged_on_the_submitted_topic(
    kafka: Settings, tmp_path: Path
) -> None:
    """Every line of a JSON Lines file, malformed and repeated ones too, arrives once, byte for byte, keyed by NIK."""
    mix = Mix(invalid=9, malformed=10, repeated=4, duplicate_record=2, adjudicate=2, enroll_failure=2,
              malformed_variants=JSON_LINES_MALFORMED)
    generated = generate_submissions(50, seed=20261128, today=TODAY, mix=mix)
    marker = uuid.uuid4().hex.encode()
    not_utf8 = b"\x96 a desk in cp1252 " + marker
    file = tmp_path / "desk.jsonl"
    with file.open("wb") as stream:
        write_json_lines(generated, stream)
        stream.write(not_utf8 + b"\r\n\n")
    expected: list[Message] = [(s.key, s.value) for s in generated] + [(None, not_utf8)]

    records, printed = await sent_by(kafka, "enroll", str(file))

    assert ours(records, expected) == Counter(expected)
    assert "sent 51 submissions" in printed
    partitions_of_key: dict[bytes, set[int]] = {}
    for partition, key, _value in records:
        if key is not None:
            partitions_of_key.setdefault(key, set()).add(partition)
    assert all(len(partitions) == 1 for partitions in partitions_of_key.values())


async def test_enroll_sends_each_element_of_a_json_array_as_written(kafka: Settings, tmp_path: Path) -> None:
    """A JSON array file gives one message per element, its pretty-printed bytes untouched, keyed by NIK."""
    documents = generate_documents(3, seed=int.from_bytes(uuid.uuid4().bytes[:4]), today=TODAY)
    elements = [json.dumps(document, indent=2).encode() for document in documents]
    file = tmp_path / "desk.json"
    file.write_bytes(b"[\n" + b",\n".join(elements) + b"\n]\n")
    expected: list[Message] = [(submission_key(element), element) for element in elements]

    records, printed = await sent_by(kafka, "enroll", str(file))

    assert ours(records, expected) == Counter(expected)
    assert all(key == document["resident"]["nik"].encode() for (key, _), document in zip(expected, documents,
                                                                                          strict=True))
    assert "sent 3 submissions" in printed


async def test_generate_send_produces_every_variant_including_bytes_no_file_can_hold(kafka: Settings) -> None:
    """`--send` produces the whole seeded batch, invalid UTF-8 and empty values included."""
    seed = int.from_bytes(uuid.uuid4().bytes[:4])
    records, printed = await sent_by(
        kafka, "generate", "residents", "--count", "30", "--seed", str(seed), "--today", TODAY.isoformat(),
        "--malformed", "7", "--invalid", "3", "--repeated", "2", "--duplicates", "1", "--send",
    )
    generated = generate_submissions(30, seed=seed, today=TODAY,
                                     mix=Mix(malformed=7, invalid=3, repeated=2, duplicate_record=1))
    expected: list[Message] = [(s.key, s.value) for s in generated]

    assert ours(records, expected) == Counter(expected)
    assert b"" in {value for _key, value in expected}
    assert "sent 30 submissions" in printed


async def test_a_rate_paces_the_sending(kafka: Settings) -> None:
    """With `rate`, n submissions take at least (n - 1) / rate seconds, and all are acknowledged."""
    await ensure_topics(kafka)
    marker = uuid.uuid4().hex
    messages = [DeskMessage(key=None, value=f'"rate-{marker}-{n}"'.encode()) for n in range(21)]
    started = time.monotonic()
    assert await send_submissions(kafka, messages, rate=100) == 21
    assert time.monotonic() - started >= 0.2
