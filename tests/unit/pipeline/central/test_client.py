"""The central client against a real local HTTP server: retries, Retry-After, error classes, breaker."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from events.approval import CentralDecision
from pipeline.central import CentralClient, CentralRejected, CentralResponse, CentralUnavailable, CircuitOpen
from pipeline.central.breaker import BreakerState
from pipeline.central.client import _batch_answer
from pipeline.config import Settings
from tests.support.env import free_port

DECISION = {
    "request_id": "req-1", "decision": "PRINT_READY_RECORD", "reason": "ok",
    "decided_at": "2026-11-28T09:15:00+07:00", "token": "a.b.c",
}


@dataclass
class Script:
    """What the fake central answers, one entry per call; the last entry repeats."""

    answers: list[Callable[[], Any]] = field(default_factory=list)
    calls: int = 0
    received: list[tuple[str, Any]] = field(default_factory=list)  # each call's content type and JSON body

    async def handle(self, request: web.Request) -> web.StreamResponse:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        self.received.append((request.content_type, await request.json()))
        result = answer()
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, web.StreamResponse)
        return result


def ok() -> web.Response:
    return web.json_response(DECISION)


def status(code: int, **headers: str) -> Callable[[], web.Response]:
    return lambda: web.json_response({"error": f"E{code}", "detail": "scripted"}, status=code, headers=headers)


@pytest.fixture
async def central() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    app = web.Application()
    app.router.add_post("/v1/enrollments", script.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield script, f"http://127.0.0.1:{server.port}"
    await server.close()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def client(url: str, sleeps: Sleeps | None = None, **overrides: Any) -> CentralClient:
    settings = Settings(central_url=url, central_backoff_base=0.2, central_backoff_max=5.0, **overrides)
    return CentralClient(settings, sleep=sleeps or Sleeps(), jitter=lambda: 1.0)


async def test_a_decision_comes_back_typed(central: tuple[Script, str]) -> None:
    """A 200 answer becomes a CentralResponse with the decision and its token."""
    script, url = central
    script.answers = [ok]
    async with client(url) as link:
        response = await link.enroll({"request_id": "req-1"})
    assert response.decision == CentralDecision.PRINT_READY_RECORD
    assert response.decided_at == dt.datetime(2026, 11, 28, 2, 15, tzinfo=dt.UTC)
    assert response.token == "a.b.c"


async def test_server_errors_are_retried_with_growing_jittered_delays(central: tuple[Script, str]) -> None:
    """Two 503s then a decision: three calls, delays doubling from the base, the decision returned."""
    script, url = central
    script.answers = [status(503), status(503), ok]
    sleeps = Sleeps()
    async with client(url, sleeps) as link:
        response = await link.enroll({"request_id": "req-1"})
    assert response.request_id == "req-1"
    assert script.calls == 3
    assert sleeps.delays == [0.2, 0.4]


async def test_every_try_sends_the_enrollment_as_json(central: tuple[Script, str]) -> None:
    """The body central reads is the enrollment, as JSON with its content type, the same on every try."""
    script, url = central
    script.answers = [status(503), ok]
    enrollment = {"request_id": "req-1", "resident": {"full_name": "Siti Rahayu", "nik": "2172014503010012"}}
    async with client(url) as link:
        await link.enroll(enrollment)
    assert script.received == [("application/json", enrollment)] * 2


async def test_retry_after_is_honoured(central: tuple[Script, str]) -> None:
    """A 429 with Retry-After 2 waits at least 2 s before the next try."""
    script, url = central
    script.answers = [status(429, **{"Retry-After": "2"}), ok]
    sleeps = Sleeps()
    async with client(url, sleeps) as link:
        await link.enroll({"request_id": "req-1"})
    assert sleeps.delays == [2.0]


async def test_a_retry_after_beyond_patience_is_unavailable_at_once_and_leaves_the_breaker(
    central: tuple[Script, str],
) -> None:
    """Retry-After 60 is longer than any call should wait: unavailable (rate limited) now, breaker closed."""
    script, url = central
    script.answers = [status(429, **{"Retry-After": "60"})]
    async with client(url) as link:
        with pytest.raises(CentralUnavailable) as caught:
            await link.enroll({"request_id": "req-1"})
        assert link.breaker.state == BreakerState.CLOSED
    assert caught.value.reason == "rate_limited"
    assert caught.value.retry_after == 60.0
    assert script.calls == 1


async def test_a_4xx_is_a_permanent_rejection_never_retried(central: tuple[Script, str]) -> None:
    """A 422 is central saying the request is wrong: CentralRejected after one call."""
    script, url = central
    script.answers = [status(422)]
    async with client(url) as link:
        with pytest.raises(CentralRejected) as caught:
            await link.enroll({"request_id": "req-1"})
    assert (caught.value.status, caught.value.code) == (422, "E422")
    assert script.calls == 1


async def test_a_refused_connection_is_unavailable_after_the_bounded_retries() -> None:
    """Nothing listens: each try is refused, and after the last one the call is unavailable (refused)."""
    sleeps = Sleeps()
    async with client(f"http://127.0.0.1:{free_port()}", sleeps, central_max_attempts=3) as link:
        with pytest.raises(CentralUnavailable) as caught:
            await link.enroll({"request_id": "req-1"})
    assert caught.value.reason == "refused"
    assert caught.value.attempts == 3
    assert len(sleeps.delays) == 2


async def test_a_hanging_central_times_out(central: tuple[Script, str]) -> None:
    """An answer that never comes ends at the configured timeout as unavailable (timeout)."""
    script, url = central

    async def hang() -> web.Response:
        await asyncio.sleep(30)
        return ok()

    script.answers = [hang]
    async with client(url, central_timeout=0.3, central_max_attempts=1) as link:
        with pytest.raises(CentralUnavailable) as caught:
            await link.enroll({"request_id": "req-1"})
    assert caught.value.reason == "timeout"


async def test_an_answer_that_is_not_a_decision_is_transient(central: tuple[Script, str]) -> None:
    """A 200 whose body is not a decision is central's fault: unavailable (bad_response), not a rejection."""
    script, url = central
    script.answers = [lambda: web.Response(text="<html>maintenance</html>")]
    async with client(url, central_max_attempts=1) as link:
        with pytest.raises(CentralUnavailable) as caught:
            await link.enroll({"request_id": "req-1"})
    assert caught.value.reason == "bad_response"


async def test_an_open_breaker_fails_fast_without_calling(central: tuple[Script, str]) -> None:
    """After enough failures the breaker opens and the next call raises CircuitOpen without touching central."""
    script, url = central
    script.answers = [status(503)]
    async with client(url, central_max_attempts=1, central_breaker_failures=2) as link:
        for _ in range(2):
            with pytest.raises(CentralUnavailable):
                await link.enroll({"request_id": "req-1"})
        assert link.breaker.state == BreakerState.OPEN
        calls_before = script.calls
        with pytest.raises(CircuitOpen):
            await link.enroll({"request_id": "req-1"})
    assert script.calls == calls_before


def test_a_batch_answer_item_becomes_a_decision_a_rejection_or_unavailable() -> None:
    """Each item of central's batch answer is a decision, a permanent refusal or a transient failure."""
    decision = {"status": 200, "request_id": "r1", "decision": CentralDecision.PRINT_READY_RECORD.value,
                "reason": "ok", "decided_at": "2026-11-28T09:15:00+07:00", "token": "a.b.c", "replayed": False}
    assert isinstance(_batch_answer(decision), CentralResponse)
    rejected = _batch_answer({"status": 422, "error": "invalid_enrollment", "detail": "no fingers"})
    assert isinstance(rejected, CentralRejected)
    assert (rejected.status, rejected.code) == (422, "invalid_enrollment")
    limited = _batch_answer({"status": 429, "error": "rate_limited", "detail": "slow down", "retry_after": 1.5})
    assert isinstance(limited, CentralUnavailable)
    assert (limited.reason, limited.retry_after) == ("rate_limited", 1.5)
    broken = _batch_answer({"status": 200, "decision": "maybe"})
    assert isinstance(broken, CentralUnavailable)
    assert broken.reason == "bad_response"
    assert isinstance(_batch_answer("not an object"), CentralUnavailable)
    assert isinstance(_batch_answer({"status": 503, "error": "busy"}), CentralUnavailable)
