"""Writing a record to a dead-letter stream: the original key, value and headers unchanged, plus headers
that say where it came from and why it failed (as Spring Kafka's DLT and Kafka Connect's DLQ do)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from events.approval import DeadLetterHeader as H

OURS = {header.value for header in H}


def failure_headers(
    *,
    original: Any,
    consumer_group: str,
    stage: str,
    error: BaseException,
    reason: str,
    attempts: int,
    first_failure_at: dt.datetime,
    last_failure_at: dt.datetime,
) -> list[tuple[str, bytes]]:
    """The original message's own headers followed by the failure context, every value UTF-8 text.

    A record that was replayed keeps the headers of where it first came from (original topic,
    partition, offset): a replay is another try of the same record, not a new one.
    """
    message = original.message
    context = {
        H.ORIGINAL_TOPIC: header_text(original, H.ORIGINAL_TOPIC) or message.topic,
        H.ORIGINAL_PARTITION: header_text(original, H.ORIGINAL_PARTITION) or str(message.partition),
        H.ORIGINAL_OFFSET: header_text(original, H.ORIGINAL_OFFSET) or str(message.offset),
        H.CONSUMER_GROUP: consumer_group,
        H.STAGE: stage,
        H.ERROR_CLASS: f"{type(error).__module__}.{type(error).__qualname__}",
        H.ERROR_MESSAGE: str(error)[:1000],
        H.REASON: reason,
        H.ATTEMPTS: str(attempts),
        H.FIRST_FAILURE_AT: first_failure_at.isoformat(),
        H.LAST_FAILURE_AT: last_failure_at.isoformat(),
    }
    kept = [(key, value) for key, value in headers_of(original) if key not in OURS]
    return kept + [(key.value, value.encode()) for key, value in context.items()]


def headers_of(event: Any) -> Sequence[tuple[str, bytes]]:
    """A faust event's headers as (name, bytes) pairs."""
    headers = event.message.headers or ()
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


def header_text(event: Any, header: H) -> str | None:
    """One of our headers on a faust event, as text; None when absent."""
    for key, value in headers_of(event):
        if key == header.value and value is not None:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None
