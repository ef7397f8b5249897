"""The citizens' status page (`GET /cek`, `GET /api/public/status`): one request's state, nothing else.

Open to anyone who reaches the dashboard, without the operators' token, so it answers only a request id
together with the birth date recorded for it, and only with what the citizen may see of their own request:
its state, the explanation in Indonesian and English, when it changed, and a notice of the office's
situation (the central link, the blank cards). Never a NIK, a name, a biometric digest or another request's
data. A wrong birth date and an unknown request id get the same 404, so the page cannot tell a guesser
which ids exist. Each client address may ask `RATE` times a minute.

The birth date is never kept: the dashboard keeps a keyed hash of each recorded request's birth date
(`birth_date_digest`, HMAC-SHA256 with the citizen key secret) from `ektp.enrollment.recorded`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from events.common import WIB
from events.masking import mask_everywhere
from events.status import RequestStatus

RATE = 10  # lookups a minute per client address
BURST = 5  # lookups a client may make at once before the rate applies
CLIENTS_KEPT = 10_000  # client addresses the limiter remembers; the least recent are forgotten first
LONGEST_REQUEST_ID = 100
_BIRTH_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class NotFound(LookupError):
    """No request with that id and birth date: the one answer for an unknown id and for a wrong date."""


def birth_date_digest(request_id: str, birth_date: dt.date, secret: bytes) -> bytes:
    """The keyed hash the page compares a typed birth date with: nobody can read a birth date back from it."""
    message = f"{request_id}\x00{birth_date.isoformat()}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def parse_query(request_id: str | None, birth_date: str | None) -> tuple[str, dt.date]:
    """The request id and birth date a citizen typed; `NotFound` for anything that cannot name a request."""
    if not request_id or not birth_date or len(request_id) > LONGEST_REQUEST_ID:
        raise NotFound
    if not _BIRTH_DATE.fullmatch(birth_date):
        raise NotFound
    try:
        return request_id.strip(), dt.date.fromisoformat(birth_date)
    except ValueError:
        raise NotFound from None


def public_status(
    request_id: str, birth_date: dt.date, *, statuses: Mapping[str, RequestStatus],
    digests: Mapping[str, bytes], secret: bytes, notice: dict[str, str],
) -> dict[str, Any]:
    """What the page shows of one request, or `NotFound` when the id and birth date do not name one."""
    status = statuses.get(request_id)
    expected = digests.get(request_id)
    presented = birth_date_digest(request_id, birth_date, secret)
    # Compare even when nothing is known, so an unknown id and a wrong date take the same path.
    matches = hmac.compare_digest(presented, expected if expected is not None else bytes(len(presented)))
    if status is None or expected is None or not matches:
        raise NotFound
    shown = {
        "request_id": status.request_id,
        "state": status.state.value,
        "terminal": status.terminal,
        "explanation_id": status.explanation_id,
        "explanation_en": status.explanation_en,
        "updated_at": status.updated_at.isoformat(),
        "office_notice": notice,
    }
    masked: dict[str, Any] = mask_everywhere(shown)  # a last guard: explanations are free text
    return masked


def office_notice(overview: Mapping[str, Any]) -> dict[str, str]:
    """The office's situation, honestly, from the operators' latest overview: the link to central first."""
    parts_id: list[str] = []
    parts_en: list[str] = []
    link = overview.get("central_link") or {}
    if link.get("state") == "down":
        since = _local_time(link.get("since"))
        parts_id.append(f"koneksi ke pusat terputus sejak {since}; rekaman disimpan dan akan dikirim")
        parts_en.append(f"link to central down since {since}; recordings are kept and will be sent")
    elif link.get("state") == "up":
        parts_id.append("koneksi ke pusat normal")
        parts_en.append("link to central up")
    stations = overview.get("stations") or []
    if stations:
        if any(station.get("blank_stock", 0) > 0 for station in stations):
            parts_id.append("blangko KTP-el tersedia")
            parts_en.append("blank cards in stock")
        else:
            parts_id.append("blangko KTP-el habis; menunggu kiriman")
            parts_en.append("blank cards have run out; a delivery is awaited")
    if not parts_id:
        return {"id": "keadaan kantor belum diketahui", "en": "the office's situation is not known yet"}
    return {"id": "; ".join(parts_id), "en": "; ".join(parts_en)}


def _local_time(iso: object) -> str:
    """An ISO time as the office's clock shows it (WIB), hours and minutes."""
    if not isinstance(iso, str):
        return "?"
    try:
        at = dt.datetime.fromisoformat(iso)
    except ValueError:
        return "?"
    return at.astimezone(WIB).strftime("%H:%M WIB")


@dataclass
class RateLimiter:
    """A token bucket per client address: `BURST` at once, then `RATE` a minute."""

    rate_per_minute: float = RATE
    burst: float = BURST
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def allow(self, client: str) -> float | None:
        """None when `client` may ask now (and it is counted); else the seconds until it may."""
        now = self.clock()
        tokens, at = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate_per_minute / 60)
        if tokens >= 1:
            self._remember(client, tokens - 1, now)
            return None
        self._remember(client, tokens, now)
        return (1 - tokens) * 60 / self.rate_per_minute

    def _remember(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > CLIENTS_KEPT:
            self._buckets.popitem(last=False)
