"""Writing a record to a dead-letter stream: the original key, value and headers unchanged, plus headers
that say where it came from and why it failed (as Spring Kafka's DLT and Kafka Connect's DLQ do)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from events.approval import DeadLetterHeader as H


def failure_headers(
    *,
    original: Any,
    consumer_group: str,
    stage: str,
    error: BaseException,
    attempts: int,
    first_failure_at: dt.datetime,
    last_failure_at: dt.datetime,
) -> list[tuple[str, bytes]]:
    """The original message's headers followed by the failure context, every value UTF-8 text."""
    message = original.message
    context = {
        H.ORIGINAL_TOPIC: message.topic,
        H.ORIGINAL_PARTITION: str(message.partition),
        H.ORIGINAL_OFFSET: str(message.offset),
        H.CONSUMER_GROUP: consumer_group,
        H.STAGE: stage,
        H.ERROR_CLASS: f"{type(error).__module__}.{type(error).__qualname__}",
        H.ERROR_MESSAGE: str(error)[:1000],
        H.ATTEMPTS: str(attempts),
        H.FIRST_FAILURE_AT: first_failure_at.isoformat(),
        H.LAST_FAILURE_AT: last_failure_at.isoformat(),
    }
    kept = [(key, value) for key, value in _headers_of(original) if key not in {h.value for h in H}]
    return kept + [(key.value, value.encode()) for key, value in context.items()]


def _headers_of(event: Any) -> Sequence[tuple[str, bytes]]:
    headers = event.message.headers or ()
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)
