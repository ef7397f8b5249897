"""The citizen's inbox (`ektp.internal.citizen-inbox`): what its three kinds of message are, and how to tell them.

The intake sends validated submissions and the rejections of submissions whose NIK could be read; the
dead-letter replay, automatic or `ektp dlq replay`, sends records back for another try. The `ektp.inbox`
header names the kind, so the reader decodes each with its own model.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

INBOX_HEADER = "ektp.inbox"


class InboxKind(StrEnum):
    SUBMISSION = "submission"  # a `SubmissionValidated`
    REJECTION = "rejection"  # an `EnrollmentRejected` of a citizen
    REPLAY = "replay"  # an `EnrollmentRecorded` from the dead-letter stream, with its failure headers


def inbox_headers(kind: InboxKind, headers: Sequence[tuple[str, bytes]] = ()) -> list[tuple[str, bytes]]:
    """`headers` with the kind of inbox message set."""
    return [*((key, value) for key, value in headers if key != INBOX_HEADER), (INBOX_HEADER, kind.value.encode())]


def without_inbox_header(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """`headers` without the inbox's own: what a record keeps when it leaves the inbox for the dead letters."""
    return [(key, value) for key, value in headers if key != INBOX_HEADER]


def inbox_kind(headers: Sequence[tuple[str, bytes]]) -> InboxKind:
    """The kind a message's headers name; `ValueError` when they name none (the message is set aside)."""
    for key, value in headers:
        if key == INBOX_HEADER and value is not None:
            return InboxKind(value.decode() if isinstance(value, bytes) else str(value))
    raise ValueError(f"no {INBOX_HEADER} header: not a message of the citizen's inbox")
