""""Where is my KTP?" at the office counter: a request found by its id or by the citizen's NIK, shown masked.

A NIK is never kept, logged or sent back: it is turned into the citizen key (`events.identity`) at once and
the requests are found by that key in the status view. What goes back carries `nik_masked` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from events.identity import citizen_key
from events.masking import mask_everywhere
from events.status import RequestStatus

NIK_SHAPE = re.compile(r"\d{16}")
LONGEST_QUERY = 100


class UnusableQuery(ValueError):
    """The query is empty or too long to be a NIK or a request id."""


def find_requests(query: str, statuses: Mapping[str, RequestStatus], secret: bytes) -> list[RequestStatus]:
    """The requests a NIK (16 digits) or a request id names, newest first."""
    query = query.strip()
    if not query or len(query) > LONGEST_QUERY:
        raise UnusableQuery("type a request id or a 16-digit NIK")
    if NIK_SHAPE.fullmatch(query):
        key = citizen_key(query, secret)
        found = [status for status in statuses.values() if status.citizen_key == key]
    else:
        status = statuses.get(query)
        found = [status] if status is not None else []
    return sorted(found, key=lambda status: status.updated_at, reverse=True)


def masked_request(status: RequestStatus) -> dict[str, Any]:
    """One request as the page shows it: state, explanation and timeline, every personal number masked."""
    shown = {
        "request_id": status.request_id,
        "state": status.state.value,
        "terminal": status.terminal,
        "updated_at": status.updated_at.isoformat(),
        "office_code": status.office_code,
        "nik_masked": status.nik_masked,
        "explanation_id": status.explanation_id,
        "explanation_en": status.explanation_en,
        "error_codes": list(status.error_codes),
        "timeline": [
            {"state": entry.state.value, "at": entry.at.isoformat(), "note": entry.note}
            for entry in status.timeline
        ],
    }
    masked: dict[str, Any] = mask_everywhere(shown)  # a last guard: notes are free text
    return masked
