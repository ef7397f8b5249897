"""The dashboard's HTTP surface with fake sources: security headers, the Host check, the token, the lookup."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from structlog.testing import capture_logs

from events.status import RequestState
from pipeline.config import Settings
from pipeline.dashboard.collect import Collector
from pipeline.dashboard.security import TOKEN_HEADER, action_token, allowed_hosts, token_matches
from pipeline.dashboard.server import Dashboard, MaskedAccessLogger, build_app
from pipeline.deadletter.view import DeadLetterEntry
from tests.support.env import free_port
from tests.unit.pipeline.dashboard.fakes import (
    NIK,
    SECRET,
    FakeCentral,
    FakeDeadLetters,
    FakeDesks,
    FakeInventory,
    FakeKafka,
    FakeStatuses,
    dead_letter,
    status,
)

TOKEN = "unit-test-token"
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
}


class Sent:
    """Counts what a replay hands to Kafka instead of sending it."""

    def __init__(self) -> None:
        self.entries: list[DeadLetterEntry] = []
        self.fresh_start: bool | None = None

    async def __call__(self, _settings: Settings, entries: Sequence[DeadLetterEntry], **options: Any) -> int:
        self.entries.extend(entries)
        self.fresh_start = options.get("fresh_start")
        for entry in entries:
            options["on_sent"](entry)
        return len(entries)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(run_dir=tmp_path, dashboard_port=free_port(), dashboard_token=SecretStr(TOKEN),
                    citizen_key_secret=SecretStr(SECRET.decode()))


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
async def client(settings: Settings, sent: Sent) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    statuses = FakeStatuses({s.request_id: s for s in [
        status("req-1", RequestState.READY_FOR_PICKUP, minutes_ago=10, note=f"careless note {NIK}"),
        status("req-2", RequestState.COLLECTED, minutes_ago=1),
        status("other", RequestState.PRINTED, nik="2172045501950002"),
    ]})
    dead_letters = FakeDeadLetters(waiting=[dead_letter("w-1", minutes_ago=3), dead_letter("w-2", minutes_ago=2)])
    collector = Collector(kafka=FakeKafka(), central=FakeCentral(), statuses=statuses, dead_letters=dead_letters,
                          inventory=FakeInventory(), desks=FakeDesks(), stuck_after=600)
    dashboard = Dashboard(settings, TOKEN, collector, statuses, dead_letters, send=sent)
    server = TestServer(build_app(dashboard, live=False), host="127.0.0.1", port=settings.dashboard_port)
    async with TestClient(server) as test_client:
        yield test_client


async def test_every_response_carries_the_security_headers(client: TestClient[web.Request, web.Application]) -> None:
    """Page, static file, API and a 404 all carry a strict CSP and the anti-sniffing and framing headers."""
    for path in ("/", "/static/dashboard.js", "/api/overview", "/no-such-page"):
        response = await client.get(path)
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
    api = await client.get("/api/overview")
    assert api.headers["Cache-Control"] == "no-store"


async def test_the_page_has_no_inline_script_or_style(client: TestClient[web.Request, web.Application]) -> None:
    page = await (await client.get("/")).text()
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert "<style" not in page
    assert "style=" not in page


async def test_a_foreign_host_header_is_refused(client: TestClient[web.Request, web.Application]) -> None:
    """A DNS-rebound name reaching the loopback port gets 421 and no data."""
    refused = await client.get("/api/overview", headers={"Host": f"attacker.example:{client.port}"})
    assert refused.status == 421
    assert "topics" not in await refused.text()
    assert (await client.get("/api/overview", headers={"Host": f"localhost:{client.port}"})).status == 200


def test_allowed_hosts_are_the_bound_address_or_loopback_names_for_a_wildcard_bind() -> None:
    assert allowed_hosts("127.0.0.1", 8700) == {"127.0.0.1:8700", "localhost:8700", "[::1]:8700"}
    assert "0.0.0.0:8700" not in allowed_hosts("0.0.0.0", 8700)
    assert "localhost:8700" in allowed_hosts("0.0.0.0", 8700)
    assert allowed_hosts("10.1.2.3", 8700) == {"10.1.2.3:8700"}


async def test_replay_needs_the_token(client: TestClient[web.Request, web.Application], sent: Sent) -> None:
    """No token or a wrong one: 401 and nothing sent; the right one: the waiting records go back."""
    assert (await client.post("/api/replay", json={})).status == 401
    assert (await client.post("/api/replay", json={}, headers={TOKEN_HEADER: "wrong"})).status == 401
    assert sent.entries == []
    accepted = await client.post("/api/replay", json={"parked": False}, headers={TOKEN_HEADER: TOKEN})
    assert accepted.status == 202
    assert (await accepted.json())["replaying"] == 2
    overview = await client.get("/api/overview")
    assert overview.status == 200
    assert [entry.request_id for entry in sent.entries] == ["w-1", "w-2"]
    assert sent.fresh_start is False


def test_token_comparison_refuses_empty_and_different_tokens() -> None:
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc")
    assert not token_matches("", "")
    assert not token_matches(None, "abc")


def test_a_missing_token_is_generated_into_a_private_file(tmp_path: Path) -> None:
    """No configured token: a fresh one in <run_dir>/dashboard.token, readable by its owner only."""
    token, path = action_token(Settings(run_dir=tmp_path))
    assert path == tmp_path / "dashboard.token"
    assert path.read_text().strip() == token
    assert len(token) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    configured, none = action_token(Settings(run_dir=tmp_path, dashboard_token=SecretStr("set")))
    assert (configured, none) == ("set", None)


async def test_lookup_by_nik_shows_that_citizens_requests_masked(
    client: TestClient[web.Request, web.Application],
) -> None:
    """A NIK finds both of its citizen's requests (not the other citizen's); no full NIK comes back."""
    response = await client.post("/api/lookup", json={"query": NIK})
    text = await response.text()
    found = json.loads(text)["requests"]
    assert {request["request_id"] for request in found} == {"req-1", "req-2"}
    assert SIXTEEN_DIGITS.search(text) is None
    assert all(request["nik_masked"] == "217204******0001" for request in found)
    assert "careless note 217204******0001" in text


async def test_lookup_by_request_id_shows_its_timeline(client: TestClient[web.Request, web.Application]) -> None:
    found = (await (await client.post("/api/lookup", json={"query": "req-1"})).json())["requests"]
    assert [(r["request_id"], r["state"], [t["state"] for t in r["timeline"]]) for r in found] == [
        ("req-1", "READY_FOR_PICKUP", ["READY_FOR_PICKUP"])]
    none = (await (await client.post("/api/lookup", json={"query": "unknown"})).json())["requests"]
    assert none == []


async def test_lookup_takes_json_in_a_post_only(client: TestClient[web.Request, web.Application]) -> None:
    """A NIK has no way into a URL: GET is not allowed, and a form post is refused."""
    assert (await client.get("/api/lookup", params={"query": NIK})).status == 405
    assert (await client.post("/api/lookup", data={"query": NIK})).status == 415
    assert (await client.post("/api/lookup", json={"query": ""})).status == 400


def test_access_log_masks_a_nik_in_a_path() -> None:
    """Even a NIK typed into a URL by mistake leaves the access log masked."""

    class Request:
        method = "GET"
        path = f"/api/lookup/{NIK}"

    class Response:
        status = 404

    with capture_logs() as logs:
        MaskedAccessLogger(logger=None, log_format="").log(Request(), Response(), 0.01)  # type: ignore[arg-type]
    assert logs
    assert NIK not in json.dumps(logs)
