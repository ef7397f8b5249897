"""The operators' dashboard in a real headless Chromium against the running system: it loads, its counts move
while events flow, its replay button drains the dead-letter stream, its lookup shows a masked timeline, and no
page, file, API answer or live message carries a full NIK or a biometric digest."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from events.common import WIB
from events.status import RequestState
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.processes.supervisor import Service, Supervisor
from pipeline.processes.system import services
from pipeline.proving.synthetic import GeneratedSubmission, generate_submissions
from pipeline.station.inventory import restock
from tests.e2e.conftest import STATION
from tests.support.outage import outage
from tests.support.screenshots import screenshot_path
from tests.support.topics import Records, read_until

pytestmark = pytest.mark.e2e

SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")
HEX_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")
DECIDED = {RequestState.PRINT_READY_RECORD, RequestState.PRINT_QUEUED, RequestState.WAITING_FOR_BLANKS,
           RequestState.PRINTED, RequestState.READY_FOR_PICKUP, RequestState.COLLECTED}


def dashboard_url(system: Settings) -> str:
    return f"http://127.0.0.1:{system.dashboard_port}"


def residents(count: int) -> list[GeneratedSubmission]:
    return generate_submissions(count, seed=random.randrange(2**31), today=dt.datetime.now(WIB).date())


async def until_states(
    system: Settings, ids: set[str], states: set[RequestState], timeout: float = 120
) -> dict[str, RequestState]:
    """Wait until every request of `ids` is in one of `states` on the status topic; their states then."""
    latest: dict[str, RequestState] = {}

    def reached(records: Records) -> bool:
        for record in records[len(seen):]:
            value = json.loads(record.value)
            latest[value["request_id"]] = RequestState(value["state"])
        seen[:] = records
        return all(latest.get(request_id) in states for request_id in ids)

    seen: Records = []
    await read_until(system, "ektp.request.status", reached, timeout=timeout)
    return {request_id: latest[request_id] for request_id in ids}


def ids_of(submissions: list[GeneratedSubmission]) -> set[str]:
    return {submission.request_id or "" for submission in submissions}


@pytest.fixture
async def page(browser: Browser, system: Settings) -> AsyncIterator[Page]:
    """The dashboard open in a fresh browser context, live."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1100})
    opened = await context.new_page()
    await opened.goto(dashboard_url(system))
    await expect(opened.locator("#live-state")).to_have_class(re.compile(r"\blive\b"), timeout=30_000)
    try:
        yield opened
    finally:
        await context.close()


async def topic_count(page: Page, topic: str) -> int:
    return int(await page.locator(f'[data-topic="{topic}"] .end-offset').inner_text())


async def until_topic_count(page: Page, topic: str, at_least: int, timeout: float = 60) -> None:
    await page.wait_for_function(
        "([topic, least]) => { const cell = document.querySelector(`[data-topic=\"${topic}\"] .end-offset`);"
        " return cell !== null && Number(cell.textContent) >= least; }",
        arg=[topic, at_least], timeout=timeout * 1000,
    )


async def test_page_loads_and_its_counts_move_while_events_flow(page: Page, system: Settings, tmp_path: Path) -> None:
    """Submissions sent while the page is open raise the intake's and the printer's counts; a screenshot under
    load is taken (the README's picture, `tests.support.screenshots`)."""
    screenshot = screenshot_path("dashboard.png", tmp_path)
    await expect(page).to_have_title(re.compile("Dasbor Operator KTP-el"))
    await expect(page.locator("#link-state")).to_have_class(re.compile(r"\bup\b"))
    await expect(page.locator('#flow [data-step="intake"]')).to_be_visible()
    submitted_before = await topic_count(page, "ektp.enrollment.submitted")
    printed_before = await topic_count(page, "ektp.print.completed")
    await restock(system, STATION, 500)
    batch = residents(60)
    sending = asyncio.create_task(send_submissions(system, batch, rate=20))
    try:
        await until_topic_count(page, "ektp.enrollment.submitted", submitted_before + 20)
        await until_topic_count(page, "ektp.print.completed", printed_before + 1)
        await expect(page.locator("#stations tbody tr")).to_contain_text([re.compile(STATION)])
        await page.screenshot(path=str(screenshot), full_page=True)
    finally:
        await sending
    await until_topic_count(page, "ektp.enrollment.submitted", submitted_before + len(batch))
    await until_states(system, ids_of(batch), DECIDED)
    await until_topic_count(page, "ektp.print.completed", printed_before + len(batch), timeout=120)
    assert screenshot.stat().st_size > 10_000


@contextlib.asynccontextmanager
async def worker_without_auto_replay(system: Settings) -> AsyncIterator[None]:
    """The system's worker restarted with automatic replay off (same consumer group), and back afterwards.

    The `system` fixture's own supervisor stops the restored worker at the end, by its pid file.
    """
    supervisor = Supervisor(system)

    def worker_of(settings: Settings) -> Service:
        return next(service for service in services(settings, station=STATION) if service.name == "worker")

    supervisor.stop("worker")
    await supervisor.start(worker_of(system.model_copy(update={"dlq_auto_replay": False})))
    try:
        yield
    finally:
        supervisor.stop("worker")
        await supervisor.start(worker_of(system))


async def test_replay_button_drains_the_dead_letter_backlog(page: Page, system: Settings) -> None:
    """Central down: requests wait in the dead-letter stream; once the link is back nothing drains by itself;
    the replay button without the token is refused, with it the backlog drains and every request is decided."""
    async with worker_without_auto_replay(system):
        await outage(system, "down")
        struck = residents(6)
        try:
            await send_submissions(system, struck)
            await until_states(system, ids_of(struck), {RequestState.AWAITING_CENTRAL})
            await page.wait_for_function("n => Number(document.getElementById('dlq-pending').textContent) >= n",
                                         arg=len(struck), timeout=30_000)
            await expect(page.locator("#link-state")).to_have_class(re.compile(r"\bdown\b"))
        finally:
            await outage(system, "clear")
        struck_ids = ids_of(struck) | await close_the_breaker(system)
        await expect(page.locator("#link-state")).to_have_class(re.compile(r"\bup\b"), timeout=30_000)
        await expect(page.locator("#link-breaker")).to_have_text("closed", timeout=30_000)
        pending = int(await page.locator("#dlq-pending").inner_text())
        assert pending >= len(struck)  # nothing replays by itself

        await page.fill("#token", "not-the-token")
        await page.click("#replay-button")
        await expect(page.locator("#replay-status")).to_contain_text("token salah")
        assert int(await page.locator("#dlq-pending").inner_text()) == pending

        token = (system.run_dir / "dashboard.token").read_text().strip()
        await page.fill("#token", token)
        await page.click("#replay-button")
        await expect(page.locator("#replay-status")).to_contain_text("mengirim ulang")
        await expect(page.locator("#dlq-pending")).to_have_text("0", timeout=90_000)
        await until_states(system, struck_ids, DECIDED)


async def close_the_breaker(system: Settings) -> set[str]:
    """Fresh requests, one at a time, until one is decided: its call was the breaker's successful half-open probe.

    Those sent while the breaker still cooled down wait in the dead-letter stream; their ids are returned.
    """
    waiting: set[str] = set()
    for _attempt in range(60):
        probe = residents(1)
        await send_submissions(system, probe)
        settled = await until_states(system, ids_of(probe), DECIDED | {RequestState.AWAITING_CENTRAL})
        [(request_id, state)] = settled.items()
        if state in DECIDED:
            return waiting
        waiting.add(request_id)
    raise AssertionError("no fresh request was decided after the link came back")


async def test_lookup_shows_a_masked_timeline_by_nik_and_by_request_id(page: Page, system: Settings) -> None:
    """The NIK finds the citizen's request with its timeline, shown masked; so does the request id."""
    [resident] = residents(1)
    await send_submissions(system, [resident])
    request_id, nik = resident.request_id or "", resident.document()["resident"]["nik"]
    await until_states(system, {request_id}, DECIDED)
    masked = f"{nik[:6]}******{nik[-4:]}"

    await page.fill("#lookup-query", nik)
    await page.click("#lookup-button")
    found = page.locator(f'[data-request="{request_id}"]')
    await expect(found).to_contain_text(masked)
    await expect(found.locator(".timeline li").first).to_contain_text("RECORDED")
    await expect(found.locator(".timeline li").last).to_contain_text(re.compile("|".join(DECIDED)))
    await expect(page.locator("#lookup-query")).to_have_value("")  # the NIK does not stay on screen
    assert nik not in await page.content()

    await page.fill("#lookup-query", request_id)
    await page.click("#lookup-button")
    await expect(found).to_contain_text(masked)
    await expect(found.locator(".timeline li")).not_to_have_count(0)
    assert nik not in await page.content()


async def first_stream_message(url: str) -> str:
    """The first overview the event stream sends."""
    async with aiohttp.ClientSession() as session, session.get(url + "/api/stream") as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        async for line in response.content:
            if line.startswith(b"data: "):
                return line.decode()
    raise AssertionError("the stream ended without a message")


async def test_no_page_file_api_answer_or_stream_message_shows_a_nik_or_digest(page: Page, system: Settings) -> None:
    """Every page, static file, API answer (lookups included), a live message and the rendered page are free of
    16-digit numbers and of the citizen's biometric digests."""
    [resident] = residents(1)
    await send_submissions(system, [resident])
    request_id, document = resident.request_id or "", resident.document()
    await until_states(system, {request_id}, DECIDED)
    biometrics = json.dumps(document["biometrics"])
    digests = set(HEX_DIGEST.findall(biometrics))
    assert len(digests) >= 10

    url = dashboard_url(system)
    shown: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        for path in ("/", "/static/dashboard.js", "/static/dashboard.css", "/api/overview", "/healthz"):
            async with session.get(url + path) as response:
                assert response.status == 200, path
                shown[path] = await response.text()
        for query in (document["resident"]["nik"], request_id):
            async with session.post(url + "/api/lookup", json={"query": query}) as response:
                assert response.status == 200
                answer = await response.text()
                assert request_id in answer
                shown[f"lookup {query[:4]}"] = answer
    shown["stream"] = await first_stream_message(url)
    await page.fill("#lookup-query", request_id)
    await page.click("#lookup-button")
    await expect(page.locator(f'[data-request="{request_id}"]')).to_be_visible()
    shown["rendered page"] = await page.content()

    for where, text in shown.items():
        assert SIXTEEN_DIGITS.search(text) is None, where
        assert not digests & set(HEX_DIGEST.findall(text)), where
