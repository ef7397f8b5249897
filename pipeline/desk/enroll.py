"""Feeding submissions to `ektp.enrollment.submitted`, as recording desks do: the raw bytes, keyed by NIK.

Nothing here validates or re-serializes a submission: the intake must see exactly what a desk sent,
malformed bytes included, so that it can reject them with the bytes kept.

Files (`read_submission_file`) are JSON Lines, or one JSON document:

- a file that is, as a whole, one JSON array: each element is one submission, sent as the exact bytes it
  spans in the file (whitespace inside it included);
- a file that is, as a whole, any other JSON value (one object, pretty-printed or not): one submission,
  the file's bytes without the surrounding whitespace;
- anything else is JSON Lines: each line is one submission, sent byte for byte without its line break
  (`\\n`, or `\\r\\n`); blank lines are skipped. A line need not be valid JSON or even valid UTF-8: it is
  sent as it is and the intake rejects it. A UTF-8 byte-order mark at the very start of the file is not
  part of the first submission.

The key of each submission is its `resident.nik` as written, when the bytes are JSON holding a string
there; otherwise the message has no key (`submission_key`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import client_options
from pipeline.topology.routes import RECORDING_DESKS
from pipeline.topology.topics import ENROLLMENT_SUBMITTED

DESK_ROLE = RECORDING_DESKS.role  # a recording desk's Kafka principal: it writes the submissions and its outbox reports

_UTF8_BOM = b"\xef\xbb\xbf"
_JSON_WHITESPACE = " \t\r\n"
# Wait for the broker's acknowledgements every so many messages, so that a long run holds few futures.
_ACK_WINDOW = 5_000


class SendFailed(EktpError):
    """Submissions could not be handed to Kafka (broker unreachable, or a send not acknowledged)."""


class KeyedMessage(Protocol):
    """Anything with a message key and value: a `DeskMessage`, a `GeneratedSubmission`."""

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DeskMessage:
    """One submission as read from a file: the bytes to send, and the key they get."""

    key: bytes | None
    value: bytes


def read_submission_file(path: Path) -> list[DeskMessage]:
    """The submissions of a JSON or JSON Lines file, each as its raw bytes (see the module docstring)."""
    return parse_submission_file(path.read_bytes())


def parse_submission_file(content: bytes) -> list[DeskMessage]:
    """The submissions in the bytes of a JSON or JSON Lines file (see the module docstring)."""
    content = content.removeprefix(_UTF8_BOM)
    values = _json_document_values(content)
    if values is None:
        values = _json_lines_values(content)
    return [DeskMessage(key=submission_key(value), value=value) for value in values]


async def send_submissions(
    settings: Settings,
    submissions: Iterable[KeyedMessage],
    *,
    rate: float | None = None,
    topic: str = ENROLLMENT_SUBMITTED.name,
) -> int:
    """Produce each submission's key and value unchanged, in order, as a recording desk; return how many the
    broker acknowledged.

    `acks=all` with an idempotent producer, so that a retried send is not written twice; sends are
    batched (linger) rather than awaited one by one. `rate` caps the pace in submissions per second.
    Raises `SendFailed` when the broker cannot be reached or does not acknowledge a send.
    """
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    producer = AIOKafkaProducer(
        **client_options(settings, DESK_ROLE),
        client_id="ektp-enroll",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    try:
        await producer.start()
    except KafkaError as error:
        await producer.stop()
        raise SendFailed(f"cannot reach Kafka at {settings.bootstrap_servers}: {error}") from error
    acknowledged = 0
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        pending: list[asyncio.Future[object]] = []
        for number, submission in enumerate(submissions):
            if rate is not None:
                # Pace by the clock, not by sleeping 1/rate after each send: send time does not add up.
                ahead = started + number / rate - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            pending.append(await producer.send(topic, submission.value, key=submission.key))
            if len(pending) >= _ACK_WINDOW:
                acknowledged += await _acknowledged(pending)
                pending = []
        acknowledged += await _acknowledged(pending)
    except KafkaError as error:
        raise SendFailed(
            f"sending to {topic} failed after {acknowledged} acknowledged submissions: {error!r}"
        ) from error
    finally:
        await producer.stop()
    return acknowledged


async def enroll_submissions(
    settings: Settings, submissions: Iterable[KeyedMessage], *, rate: float | None = None
) -> int:
    """`send_submissions` to `ektp.enrollment.submitted`, once that topic is there.

    The broker does not create topics on first use (the registry decides partitions), and a desk may not create
    them: on a fresh broker the desk says so, and the admin creates them (`ektp topics create`, `ektp up`).
    """
    try:
        await ensure_topics(settings, [ENROLLMENT_SUBMITTED], role=DESK_ROLE)
    except TopicAuthorizationFailedError as error:
        raise SendFailed(str(error)) from error
    except (KafkaError, OSError, TimeoutError) as error:
        raise SendFailed(f"cannot reach Kafka at {settings.bootstrap_servers}: {error!r}") from error
    return await send_submissions(settings, submissions, rate=rate)


def submission_key(value: bytes) -> bytes | None:
    """The key a submission is sent with: its `resident.nik` as written, if the value is JSON holding one."""
    try:
        document = json.loads(value.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return key_of_document(document)


def key_of_document(document: object) -> bytes | None:
    """The `resident.nik` of a parsed submission as key bytes; None when it holds no such string."""
    if isinstance(document, dict):
        resident = document.get("resident")
        if isinstance(resident, dict):
            nik = resident.get("nik")
            if isinstance(nik, str):
                return nik.encode("utf-8")
    return None


async def _acknowledged(pending: list[asyncio.Future[object]]) -> int:
    await asyncio.gather(*pending)
    return len(pending)


def _json_document_values(content: bytes) -> list[bytes] | None:
    """The values of a file that is one JSON document, or None when it is not (then it is JSON Lines)."""
    try:
        text = content.decode("utf-8")
        document = json.loads(text)
    except (ValueError, RecursionError):  # not UTF-8, not one JSON value: JSON Lines (or one bad line)
        return None
    if not isinstance(document, list):
        return [text.strip(_JSON_WHITESPACE).encode("utf-8")]
    # Walk the array again for where each element starts and ends: its bytes are sent, not a re-dump.
    decoder = json.JSONDecoder()
    values: list[bytes] = []
    position = _skip_whitespace(text, _skip_whitespace(text, 0) + 1)  # past "["
    while text[position] != "]":
        _element, end = decoder.raw_decode(text, position)
        values.append(text[position:end].encode("utf-8"))
        position = _skip_whitespace(text, end)
        if text[position] == ",":
            position = _skip_whitespace(text, position + 1)
    return values


def _json_lines_values(content: bytes) -> list[bytes]:
    values = []
    for line in content.split(b"\n"):
        value = line.removesuffix(b"\r")
        if value.strip():
            values.append(value)
    return values


def _skip_whitespace(text: str, position: int) -> int:
    while text[position] in _JSON_WHITESPACE:
        position += 1
    return position
