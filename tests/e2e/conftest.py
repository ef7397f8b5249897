"""The whole system as processes: the session's broker, and central-sim, worker and station on free ports."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, async_playwright

from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.processes.supervisor import Supervisor
from pipeline.processes.system import ORDER, services
from pipeline.proving.sandbox import FAST_LINK
from tests.support.app_ids import authorize_app_id
from tests.support.env import free_port

pytestmark = pytest.mark.e2e

STATION = "TPI-E2E"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, driven by Playwright."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="package")
def system(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a running system (as `ektp up` starts it); every process is stopped at the end."""
    settings = kafka.model_copy(update={
        "run_dir": tmp_path_factory.mktemp("system"),
        "app_id": f"ektp-e2e-{uuid.uuid4().hex[:8]}",  # a consumer group and tables of its own
        "central_url": f"http://127.0.0.1:{free_port()}",
        "central_admin_url": f"http://127.0.0.1:{free_port()}",
        "worker_metrics_port": free_port(),
        "station_metrics_port": free_port(),
        **FAST_LINK,  # outages play out in seconds
        "dlq_max_attempts": 3,
    })
    asyncio.run(ensure_topics(settings))
    supervisor = Supervisor(settings)
    try:
        # The broker grants the worker its group and faust's topics by the app id it was started with; this
        # system has an app id of its own, so its ACLs are the broker's for the package, the session's put back.
        asyncio.run(authorize_app_id(settings))
        for service in services(settings, station=STATION, central_flags=("--latency-ms", "5")):
            asyncio.run(supervisor.start(service))
        yield settings
    finally:
        for name in reversed(ORDER):
            supervisor.stop(name)
        asyncio.run(authorize_app_id(kafka))
        assert supervisor.running() == []
