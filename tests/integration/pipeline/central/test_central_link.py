"""The pipeline's central client against a real central-sim process: decisions, outages, the breaker."""

from __future__ import annotations

import asyncio
import json
import random
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from events.approval import CentralDecision
from pipeline.central import CentralClient, CentralUnavailable, CircuitOpen
from pipeline.central.breaker import BreakerChange, BreakerState
from pipeline.config import Settings
from pipeline.probes import http_ok
from tests.support.env import free_port
from tests.support.outage import outage
from tests.support.processes import Process, run_ektp
from tests.support.submissions import fresh_resident
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def central_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    public, admin = free_port(), free_port()
    return Settings(
        run_dir=tmp_path_factory.mktemp("central-run"),
        central_url=f"http://127.0.0.1:{public}", central_admin_url=f"http://127.0.0.1:{admin}",
        central_timeout=1.0, central_connect_timeout=0.5, central_max_attempts=1,
        central_breaker_failures=2, central_breaker_cooldown=1.0,
    )


@pytest.fixture(scope="module")
def central(central_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """`ektp central-sim` as its own process, with no added latency; stopped at the end."""
    process = Process("central-sim", ["central-sim", "--latency-ms", "0"], central_settings,
                      tmp_path_factory.mktemp("central-logs"))
    asyncio.run(wait_until_async(lambda: http_ok(central_settings.central_admin_url + "/health"), timeout=30,
                                 what="central-sim answers"))
    yield process
    assert process.stop() == 0, process.tail()


@pytest.fixture
async def link(central: Process, central_settings: Settings) -> AsyncIterator[CentralClient]:
    await outage(central_settings, "clear")
    async with CentralClient(central_settings) as client:
        yield client
    await outage(central_settings, "clear")


def enrollment() -> dict[str, object]:
    document = fresh_resident(random.Random())
    document["citizen_key"] = "ab" * 32
    return document


async def test_a_decision_carries_a_token_any_vendor_verifies_from_the_jwk_set(
    link: CentralClient, central_settings: Settings
) -> None:
    """A print-ready decision's token verifies with joserfc against central's published JWK Set."""
    body = enrollment()
    answer = await link.enroll(body)
    assert answer.decision == CentralDecision.PRINT_READY_RECORD
    async with aiohttp.ClientSession() as session, session.get(central_settings.central_url + "/v1/jwks") as reply:
        keys = KeySet.import_key_set(await reply.json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that RFC 9864 renamed EdDSA; the contract names it
        verified = jws.deserialize_compact(answer.token, keys, algorithms=["EdDSA"])
    claims = json.loads(verified.payload)
    assert (claims["request_id"], claims["decision"], claims["sub"]) == (
        body["request_id"], "PRINT_READY_RECORD", "ab" * 32,
    )
    again = await link.enroll(body)
    assert again == answer, "a repeat gets the same decision and token"


@pytest.mark.parametrize(
    ("mode", "options", "reason"),
    [
        ("down", {}, "refused"),
        ("hang", {}, "timeout"),
        ("flaky", {"error_rate": 1.0}, "server_error"),
        ("slow", {"latency_seconds": 3.0}, "timeout"),
    ],
)
async def test_each_outage_mode_gives_its_transient_error_within_the_timeout(
    link: CentralClient, central_settings: Settings, mode: str, options: dict[str, float], reason: str
) -> None:
    """down → refused, hang and slow → timeout, flaky → server error; each within the client's timeout."""
    await outage(central_settings, mode, **options)
    began = time.monotonic()
    with pytest.raises(CentralUnavailable) as caught:
        await link.enroll(enrollment())
    assert caught.value.reason == reason
    assert time.monotonic() - began < central_settings.central_timeout + 1.0


async def test_slow_central_answers_late_buthttp_ok(central: Process, central_settings: Settings) -> None:
    """With a timeout longer than the added latency, a slow central's decision arrives, late."""
    await outage(central_settings, "slow", latency_seconds=1.5)
    patient = central_settings.model_copy(update={"central_timeout": 5.0})
    began = time.monotonic()
    async with CentralClient(patient) as client:
        answer = await client.enroll(enrollment())
    await outage(central_settings, "clear")
    assert time.monotonic() - began >= 1.5
    assert answer.decision == CentralDecision.PRINT_READY_RECORD


async def test_the_breaker_opens_half_opens_and_closes_with_the_link(
    central: Process, central_settings: Settings
) -> None:
    """Down: two failures open the breaker and calls fail fast; after the cool-down a probe closes it."""
    changes: list[BreakerChange] = []
    async with CentralClient(central_settings) as client:
        client.breaker.on_change = changes.append
        await outage(central_settings, "down")
        for _ in range(2):
            with pytest.raises(CentralUnavailable):
                await client.enroll(enrollment())
        assert client.breaker.state == BreakerState.OPEN
        with pytest.raises(CircuitOpen):
            await client.enroll(enrollment())
        await outage(central_settings, "clear")
        await wait_until_async(_async(lambda: client.breaker.retry_in() == 0), timeout=5, what="cool-down over")
        answer = await client.enroll(enrollment())
    assert answer.decision == CentralDecision.PRINT_READY_RECORD
    assert [change.state for change in changes] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_an_outage_with_a_duration_ends_by_itself(central: Process, central_settings: Settings, tmp_path: Path) -> None:
    """`ektp central outage down --for 3s`: the link refuses, then recovers with nobody touching it."""
    struck = run_ektp("central", "outage", "down", "--for", "3s", settings=central_settings)
    assert struck.returncode == 0, struck.stderr
    assert "down" in struck.stdout
    assert not asyncio.run(http_ok(central_settings.central_url + "/health"))
    asyncio.run(wait_until_async(lambda: http_ok(central_settings.central_url + "/health"), timeout=15,
                                 what="the link recovers by itself"))
    shown = run_ektp("central", "status", "--json", settings=central_settings)
    assert '"mode": "normal"' in shown.stdout


def _async(fact: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return fact()

    return check
