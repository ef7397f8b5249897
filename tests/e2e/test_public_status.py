"""The citizens' status page in a real headless Chromium, on a phone-sized screen: a request looked up in each
of its states shows that state and its explanation; a wrong birth date shows the one "not found"; and on the
running system a real request is found by its id and the birth date recorded, with the office's situation."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, ViewportSize, expect
from pydantic import SecretStr

from events.common import WIB
from events.status import RequestState
from pipeline.config import Settings
from pipeline.dashboard.collect import Collector
from pipeline.dashboard.public import RateLimiter, birth_date_digest
from pipeline.dashboard.server import Dashboard, KnownBirthDates, build_app
from pipeline.desk.enroll import send_submissions
from pipeline.proving.synthetic import generate_submissions
from pipeline.topology.topics import REQUEST_STATUS
from processors.status import explain
from tests.support.env import free_port
from tests.support.screenshots import screenshot_path
from tests.support.topics import read_until
from tests.support.waiting import wait_until_async
from tests.unit.pipeline.dashboard.fakes import (
    SECRET,
    FakeCentral,
    FakeDeadLetters,
    FakeDesks,
    FakeInventory,
    FakeKafka,
    FakeStatuses,
    status,
)

pytestmark = pytest.mark.e2e

BORN = dt.date(1990, 8, 17)
PHONE: ViewportSize = {"width": 390, "height": 844}
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


@pytest.fixture
async def every_state(tmp_path: Path) -> AsyncIterator[str]:
    """A dashboard whose status view holds one request in each state, each recorded as born on BORN."""
    settings = Settings(run_dir=tmp_path, dashboard_port=free_port(), citizen_key_secret=SecretStr(SECRET.decode()))
    statuses = FakeStatuses({})
    for state in RequestState:
        explanation_id, explanation_en = explain(state)
        statuses.latest[state.value] = status(state.value, state).model_copy(
            update={"explanation_id": explanation_id, "explanation_en": explanation_en})
    recorded = KnownBirthDates({request_id: birth_date_digest(request_id, BORN, SECRET)
                                for request_id in statuses.latest})
    collector = Collector(kafka=FakeKafka(), central=FakeCentral(), statuses=statuses, dead_letters=FakeDeadLetters(),
                          inventory=FakeInventory(), desks=FakeDesks(), stuck_after=600)
    overview = {"central_link": {"state": "down", "since": dt.datetime.now(dt.UTC).isoformat()},
                "stations": [{"blank_stock": 12}]}
    dashboard = Dashboard(settings, "t", collector, statuses, FakeDeadLetters(), birth_dates=recorded,
                          overview=overview, limiter=RateLimiter(rate_per_minute=6000, burst=1000))
    server = TestServer(build_app(dashboard, live=False), host="127.0.0.1", port=settings.dashboard_port)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{settings.dashboard_port}"
    finally:
        await server.close()


async def look_up(page: Page, request_id: str, born: dt.date) -> None:
    await page.fill("#request-id", request_id)
    await page.fill("#birth-date", born.isoformat())
    await page.click("button[type=submit]")


async def test_a_request_in_each_state_shows_that_state_and_its_explanation(
    browser: Browser, every_state: str,
) -> None:
    context = await browser.new_context(viewport=PHONE, locale="id-ID")
    page = await context.new_page()
    try:
        await page.goto(every_state + "/cek")
        await expect(page).to_have_title(re.compile("Cek KTP-el"))
        for state in RequestState:
            await look_up(page, state.value, BORN)
            await expect(page.locator("#state-badge")).to_have_text(state.value)
            await expect(page.locator("#explanation-id")).to_have_text(explain(state)[0])
            await expect(page.locator("#explanation-en")).to_have_text(explain(state)[1])
            await expect(page.locator("#notice-en")).to_contain_text("link to central down since")
        await look_up(page, RequestState.COLLECTED.value, BORN + dt.timedelta(days=1))
        await expect(page.locator("#problem")).to_be_visible()
        await expect(page.locator("#answer")).to_be_hidden()
        await expect(page.locator("#problem")).to_contain_text("No request with that number and birth date")
    finally:
        await context.close()


async def test_on_the_running_system_a_recorded_request_is_found_by_its_id_and_birth_date(
    browser: Browser, system: Settings, tmp_path: Path,
) -> None:
    [submission] = generate_submissions(1, seed=2026_12_03, today=dt.datetime.now(WIB).date())
    document = submission.document()
    born = dt.date.fromisoformat(document["resident"]["birth_date"])
    await send_submissions(system, [submission])
    await read_until(system, REQUEST_STATUS.name,
                     lambda records: any(json.loads(r.value)["request_id"] == submission.request_id for r in records))
    context = await browser.new_context(viewport=PHONE, locale="id-ID")
    page = await context.new_page()
    url = f"http://127.0.0.1:{system.dashboard_port}/cek"
    try:
        await page.goto(url)

        async def found() -> bool:
            await look_up(page, submission.request_id or "", born)
            await page.wait_for_function(
                "() => !document.getElementById('answer').hidden || !document.getElementById('problem').hidden")
            return await page.locator("#answer").is_visible()

        # The status topic has the request: the page finds it as soon as the dashboard has read as far (each
        # look counts against the page's rate limit, hence the pace).
        await wait_until_async(found, timeout=60, what="the page finds the recorded request", every=2.0)
        await expect(page.locator("#state-badge")).to_have_text(re.compile(r"[A-Z_]+"))
        await expect(page.locator("#notice-en")).to_contain_text("link to central")
        text = await page.content()
        assert SIXTEEN_DIGITS.search(text) is None, "a full NIK reached the citizens' page"
        assert document["resident"]["full_name"] not in text
        await page.screenshot(path=str(screenshot_path("cek.png", tmp_path)), full_page=True)
        await look_up(page, submission.request_id or "", born - dt.timedelta(days=1))
        await expect(page.locator("#problem")).to_be_visible()
    finally:
        await context.close()
