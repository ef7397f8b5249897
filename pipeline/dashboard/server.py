"""`ektp dashboard`: the operators' page and its API (aiohttp).

    GET  /                 the page (static/index.html, dashboard.js, dashboard.css: no inline code)
    GET  /api/overview     the overview as JSON (`pipeline.dashboard.collect`)
    GET  /api/stream       the same overview as server-sent events, once per refresh
    POST /api/lookup       {"query": request id or NIK} -> the masked timelines (a NIK never goes in a URL)
    POST /api/replay       {"parked": false} with the X-Ektp-Token header -> the dead-letter replay starts
    GET  /healthz          readiness for `ektp up`
    GET  /cek              the citizens' status page (static/cek.html, cek.js, cek.css), without the token
    GET  /api/public/status?request_id=..&birth_date=YYYY-MM-DD -> one request's state (`pipeline.dashboard.public`)

One sampler task refreshes the overview; every listener gets the same one. The access log masks NIKs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from events.masking import mask_nik
from pipeline.config import Settings
from pipeline.dashboard.collect import Collector, DeadLetterSource, StatusSource
from pipeline.dashboard.lookup import UnusableQuery, find_requests, masked_request
from pipeline.dashboard.metrics import serve_metrics
from pipeline.dashboard.public import NotFound, RateLimiter, office_notice, parse_query, public_status
from pipeline.dashboard.security import (
    TOKEN_HEADER,
    action_token,
    add_security_headers,
    allowed_hosts,
    host_guard,
    token_matches,
)
from pipeline.dashboard.sources import (
    DASHBOARD_ROLE,
    BirthDateView,
    DeskView,
    InventoryView,
    KafkaSource,
    LinkSource,
)
from pipeline.deadletter.replay import send_back
from pipeline.deadletter.view import DeadLetterView
from pipeline.logs import get_logger
from pipeline.status.view import StatusView

log = get_logger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
LARGEST_BODY = 4096  # a lookup or a replay request is a few bytes


class Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class BirthDateSource(Protocol):
    @property
    def digests(self) -> Mapping[str, bytes]: ...


@dataclass
class KnownBirthDates:
    """Birth-date digests by request id, held as given (by default none: every public lookup is a 404)."""

    digests: dict[str, bytes] = field(default_factory=dict)


@dataclass
class ReplayProgress:
    """The replay the page started: how far it has gone."""

    running: bool = False
    sent: int = 0
    total: int = 0
    parked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"running": self.running, "sent": self.sent, "total": self.total, "parked": self.parked}


@dataclass
class Dashboard:
    """The state the handlers share: settings, token, views, the latest overview and its listeners."""

    settings: Settings
    token: str
    collector: Collector
    statuses: StatusSource
    dead_letters: DeadLetterSource
    overview: dict[str, Any] = field(default_factory=dict)
    replay: ReplayProgress = field(default_factory=ReplayProgress)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    closing: bool = False
    views: list[Startable] = field(default_factory=list)  # the live sources, started and stopped with the app
    send: Callable[..., Awaitable[int]] = send_back  # how records go back (the unit tests count instead)
    birth_dates: BirthDateSource = field(default_factory=KnownBirthDates)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    _replay_task: asyncio.Task[None] | None = None

    async def refresh(self) -> dict[str, Any]:
        """Sample the sources once and wake every stream listener."""
        overview = await self.collector.sample()
        overview["replay"] = self.replay.as_json()
        async with self.changed:
            self.overview = overview
            self.changed.notify_all()
        return overview

    async def sample_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # one failed sample must not stop the page's updates
                log.exception("dashboard sample failed")
            await asyncio.sleep(self.settings.dashboard_refresh)

    async def next_overview(self, shown: dict[str, Any]) -> dict[str, Any]:
        """Wait for an overview newer than `shown` (or for the server closing)."""
        async with self.changed:
            await self.changed.wait_for(lambda: self.overview is not shown or self.closing)
            return self.overview

    async def close_streams(self) -> None:
        """End every event stream, so that the server stops without waiting for the pages to leave."""
        async with self.changed:
            self.closing = True
            self.changed.notify_all()

    def start_replay(self, *, parked: bool) -> int:
        """Send the waiting (or parked) records back in the background; how many are going."""
        entries = self.dead_letters.parked() if parked else self.dead_letters.pending()
        self.replay = ReplayProgress(running=True, total=len(entries), parked=parked)
        progress = self.replay

        def sent_one(_entry: object) -> None:
            progress.sent += 1

        async def run() -> None:
            try:
                await self.send(self.settings, entries, role=DASHBOARD_ROLE, rate=self.settings.dlq_replay_rate,
                                fresh_start=parked, on_sent=sent_one)
                log.info("dashboard replay done", sent=progress.sent, parked=parked)
            except Exception:  # the records stay in the stream
                log.exception("dashboard replay failed", sent=progress.sent)
            finally:
                progress.running = False

        self._replay_task = asyncio.create_task(run())
        return len(entries)


DASHBOARD = web.AppKey("dashboard", Dashboard)


class MaskedAccessLogger(AbstractAccessLogger):
    """aiohttp's access log through our logging, the path masked: no NIK reaches a log even by a wrong URL."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        log.debug("http", method=request.method, path=mask_nik(request.path), status=response.status,
                  seconds=round(time, 4))


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def overview(request: web.Request) -> web.Response:
    dashboard = request.app[DASHBOARD]
    return web.json_response(dashboard.overview or await dashboard.refresh())


async def stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the overview now, then each new one, until the page goes away."""
    dashboard = request.app[DASHBOARD]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    current = dashboard.overview or await dashboard.refresh()
    with contextlib.suppress(ConnectionResetError):
        while not dashboard.closing:
            await response.write(f"event: overview\ndata: {json.dumps(current)}\n\n".encode())
            current = await dashboard.next_overview(current)
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text='{"error": "send JSON"}', content_type="application/json")
    if (request.content_length or 0) > LARGEST_BODY:
        raise web.HTTPRequestEntityTooLarge(LARGEST_BODY, request.content_length or 0)
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "not JSON"}', content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "send a JSON object"}', content_type="application/json")
    return body


async def lookup(request: web.Request) -> web.Response:
    """The requests a request id or NIK names, masked; the query itself is never echoed or logged."""
    dashboard = request.app[DASHBOARD]
    query = (await _json_body(request)).get("query")
    if not isinstance(query, str):
        return web.json_response({"error": "query must be a string"}, status=400)
    try:
        secret = dashboard.settings.citizen_key_secret.get_secret_value().encode()
        found = find_requests(query, dashboard.statuses.latest, secret)
    except UnusableQuery as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"requests": [masked_request(status) for status in found]})


async def replay(request: web.Request) -> web.Response:
    """Replay the dead-letter stream (or the parked records): needs the token."""
    dashboard = request.app[DASHBOARD]
    if not token_matches(request.headers.get(TOKEN_HEADER), dashboard.token):
        log.warning("dashboard action refused: wrong or missing token", action="replay")
        return web.json_response({"error": "token required"}, status=401)
    parked = (await _json_body(request)).get("parked", False) is True
    if dashboard.replay.running:
        return web.json_response({"error": "a replay is running", "replay": dashboard.replay.as_json()}, status=409)
    count = dashboard.start_replay(parked=parked)
    log.info("dashboard replay started", records=count, parked=parked)
    return web.json_response({"replaying": count, "parked": parked}, status=202)


async def cek(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "cek.html")


async def public_status_api(request: web.Request) -> web.Response:
    """One request's state for the citizen who knows its id and the birth date recorded; no token needed."""
    dashboard = request.app[DASHBOARD]
    wait = dashboard.limiter.allow(request.remote or "unknown")
    if wait is not None:
        return web.json_response(
            {"error": "rate_limited", "message_id": "Terlalu banyak permintaan; coba lagi sebentar lagi.",
             "message_en": "Too many lookups; try again in a moment."},
            status=429, headers={"Retry-After": str(math.ceil(wait))},
        )
    try:
        request_id, born = parse_query(request.query.get("request_id"), request.query.get("birth_date"))
        shown = public_status(
            request_id, born, statuses=dashboard.statuses.latest, digests=dashboard.birth_dates.digests,
            secret=dashboard.settings.citizen_key_secret.get_secret_value().encode(),
            notice=office_notice(dashboard.overview or await dashboard.refresh()),
        )
    except NotFound:
        return web.json_response(
            {"error": "not_found",
             "message_id": "Tidak ada permohonan dengan nomor dan tanggal lahir itu. Periksa tanda terima Anda.",
             "message_en": "No request with that number and birth date. Check your receipt."},
            status=404,
        )
    return web.json_response(shown)


async def _running(app: web.Application) -> AsyncIterator[None]:
    """Start the views and the sampler with the app; stop them with it."""
    dashboard = app[DASHBOARD]
    settings = dashboard.settings
    for view in dashboard.views:
        await view.start()
    sampler = asyncio.create_task(dashboard.sample_forever())
    log.info("dashboard ready", url=f"http://{settings.dashboard_host}:{settings.dashboard_port}")
    yield
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    for view in reversed(dashboard.views):
        await view.stop()


async def _close_streams(app: web.Application) -> None:
    await app[DASHBOARD].close_streams()


def build_dashboard(settings: Settings, token: str) -> Dashboard:
    """The live dashboard: its views and collector over the configured broker, central and worker."""
    statuses, dead_letters = StatusView(settings, DASHBOARD_ROLE), DeadLetterView(settings, DASHBOARD_ROLE)
    kafka, inventory, desks = KafkaSource(settings), InventoryView(settings), DeskView(settings)
    birth_dates = BirthDateView(settings)
    collector = Collector(kafka=kafka, central=LinkSource(settings), statuses=statuses, dead_letters=dead_letters,
                          inventory=inventory, desks=desks, stuck_after=settings.dashboard_stuck_after)
    return Dashboard(settings, token, collector, statuses, dead_letters,
                     views=[statuses, dead_letters, inventory, desks, birth_dates, kafka], birth_dates=birth_dates)


def build_app(dashboard: Dashboard, *, live: bool = True) -> web.Application:
    """The aiohttp application; `live=False` leaves the sources to the caller (the unit tests' fakes)."""
    settings = dashboard.settings
    app = web.Application(
        middlewares=[host_guard(allowed_hosts(settings.dashboard_host, settings.dashboard_port))],
        client_max_size=LARGEST_BODY,
    )
    app[DASHBOARD] = dashboard
    app.on_response_prepare.append(add_security_headers)
    if live:
        app.cleanup_ctx.append(_running)
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/overview", overview)
    app.router.add_get("/api/stream", stream)
    app.router.add_post("/api/lookup", lookup)
    app.router.add_post("/api/replay", replay)
    app.router.add_get("/cek", cek)
    app.router.add_get("/api/public/status", public_status_api)
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    return app


def serve(settings: Settings) -> None:
    """Run the dashboard until SIGTERM or Ctrl-C."""
    token, written_to = action_token(settings)
    if written_to is not None:
        log.info("dashboard action token generated", token_file=str(written_to))
    dashboard = build_dashboard(settings, token)
    serve_metrics(lambda: dashboard.overview, settings.metrics_host, settings.dashboard_metrics_port)
    app = build_app(dashboard)
    web.run_app(app, host=settings.dashboard_host, port=settings.dashboard_port, access_log_class=MaskedAccessLogger,
                print=None, handle_signals=True, shutdown_timeout=5.0)
