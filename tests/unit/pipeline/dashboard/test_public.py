"""The citizens' status page: one request for its id and birth date, the same 404 for a wrong date or an unknown
id, nothing personal in the answer, a notice that tells the office's real situation, and a rate limit."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from events.status import RequestState
from pipeline.config import Settings
from pipeline.dashboard.collect import Collector
from pipeline.dashboard.public import RateLimiter, birth_date_digest, office_notice
from pipeline.dashboard.server import Dashboard, KnownBirthDates, build_app
from tests.support.env import free_port
from tests.unit.pipeline.dashboard.fakes import (
    NIK,
    NOW,
    SECRET,
    FakeCentral,
    FakeDeadLetters,
    FakeDesks,
    FakeInventory,
    FakeKafka,
    FakeStatuses,
    status,
)

BORN = dt.date(1990, 8, 17)
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
DOWN = {"central_link": {"state": "down", "since": "2026-12-03T01:10:00+00:00"}, "stations": [{"blank_stock": 0}]}


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings = Settings(run_dir=tmp_path, dashboard_port=free_port(), dashboard_token=SecretStr("t"),
                        citizen_key_secret=SecretStr(SECRET.decode()))
    statuses = FakeStatuses({"req-1": status("req-1", RequestState.AWAITING_CENTRAL, note=f"careless {NIK}"),
                             "req-2": status("req-2", RequestState.COLLECTED)})
    recorded = KnownBirthDates({request_id: birth_date_digest(request_id, BORN, SECRET)
                                for request_id in ("req-1", "req-2")})
    collector = Collector(kafka=FakeKafka(), central=FakeCentral(), statuses=statuses, dead_letters=FakeDeadLetters(),
                          inventory=FakeInventory(), desks=FakeDesks(), stuck_after=600)
    dashboard = Dashboard(settings, "t", collector, statuses, FakeDeadLetters(), birth_dates=recorded,
                          limiter=RateLimiter(rate_per_minute=600, burst=100), overview=dict(DOWN))
    server = TestServer(build_app(dashboard, live=False), host="127.0.0.1", port=settings.dashboard_port)
    async with TestClient(server) as test_client:
        yield test_client


async def test_the_right_birth_date_shows_the_requests_state_and_the_offices_situation(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/api/public/status", params={"request_id": "req-1", "birth_date": "1990-08-17"})
    assert response.status == 200
    body = await response.json()
    assert (body["request_id"], body["state"]) == ("req-1", "AWAITING_CENTRAL")
    assert body["explanation_id"]
    assert body["explanation_en"]
    assert body["updated_at"] == NOW.isoformat()
    assert body["office_notice"]["en"].startswith("link to central down since 08:10 WIB")
    assert "blank cards have run out" in body["office_notice"]["en"]
    text = json.dumps(body)
    assert SIXTEEN_DIGITS.search(text) is None
    assert not {"nik_masked", "citizen_key", "timeline", "full_name"} & set(body)


async def test_a_wrong_birth_date_and_an_unknown_request_get_the_same_404(
    client: TestClient[web.Request, web.Application],
) -> None:
    answers = []
    for params in ({"request_id": "req-1", "birth_date": "1990-08-18"},
                   {"request_id": "nope", "birth_date": "1990-08-17"},
                   {"request_id": "req-1", "birth_date": "17-08-1990"}, {"request_id": "req-1"}):
        response = await client.get("/api/public/status", params=params)
        answers.append((response.status, await response.text()))
    assert len(set(answers)) == 1
    assert answers[0][0] == 404


async def test_the_page_is_open_without_the_token_and_has_no_inline_code(
    client: TestClient[web.Request, web.Application],
) -> None:
    page = await client.get("/cek")
    assert page.status == 200
    text = await page.text()
    assert 'lang="id"' in text
    assert "Where is my KTP?" in text
    assert re.search(r"<script(?![^>]*\bsrc=)", text) is None
    assert "style=" not in text
    assert "Content-Security-Policy" in page.headers


def test_each_client_gets_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_minute=10, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [None, None, None]
    wait = limiter.allow("a")
    assert wait == pytest.approx(6.0)
    assert limiter.allow("b") is None  # another address has its own bucket
    clock.now += 6.0
    assert limiter.allow("a") is None
    assert limiter.allow("a") is not None


async def test_too_many_lookups_from_one_address_get_429_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, dashboard_port=free_port(), citizen_key_secret=SecretStr(SECRET.decode()))
    collector = Collector(kafka=FakeKafka(), central=FakeCentral(), statuses=FakeStatuses(),
                          dead_letters=FakeDeadLetters(), inventory=FakeInventory(), desks=FakeDesks(), stuck_after=600)
    dashboard = Dashboard(settings, "t", collector, FakeStatuses(), FakeDeadLetters(),
                          limiter=RateLimiter(rate_per_minute=1, burst=2))
    server = TestServer(build_app(dashboard, live=False), host="127.0.0.1", port=settings.dashboard_port)
    async with TestClient(server) as client:
        params = {"request_id": "x", "birth_date": "1990-01-01"}
        statuses = [(await client.get("/api/public/status", params=params)).status for _ in range(3)]
        limited = await client.get("/api/public/status", params=params)
    assert statuses == [404, 404, 429]
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_the_notice_says_the_link_is_up_and_blanks_are_in_stock_when_they_are() -> None:
    notice = office_notice({"central_link": {"state": "up"}, "stations": [{"blank_stock": 0}, {"blank_stock": 4}]})
    assert notice["en"] == "link to central up; blank cards in stock"
    assert notice["id"] == "koneksi ke pusat normal; blangko KTP-el tersedia"
    assert office_notice({})["en"] == "the office's situation is not known yet"
