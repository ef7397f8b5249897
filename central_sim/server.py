"""central_sim's HTTP server: the public app (the link to central, which faults break) and the admin app.

Public port: `POST /v1/enrollments`, `POST /v1/enrollments:batch`, `GET /v1/jwks`, `GET /health`,
`GET|POST /admin/outage`; every path suffers the outage in force. Admin port: `GET|POST /admin/outage`,
`GET /health`, `GET /metrics`, `GET /v1/jwks`; never touched by a fault. See the package docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from central_sim.config import CentralSettings
from central_sim.enrollment_desk import EnrollmentDesk
from central_sim.errors import InvalidEnrollment, RequestConflict
from central_sim.faults import FaultSchedule, OutageCommand, OutageMode, OutageWindow
from central_sim.metrics import CONTENT_TYPE, CentralMetrics, outcome_of
from central_sim.public_port import HangGate, PublicPort
from central_sim.ratelimit import TokenBucket
from central_sim.registry import Registry
from central_sim.signing import SigningKey, jwk_set
from central_sim.store import CentralStore
from central_sim.wire import error_answer, parse_json

log = structlog.get_logger("central_sim.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_RECHECK_SECONDS = 1.0  # the fault follower looks again at least this often (e.g. to retry a reopen)
_KEPT_ERROR_HEADERS = frozenset({"WWW-Authenticate", "Allow", "Retry-After"})
_ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
    413: "too_large", 415: "unsupported_media_type",
}


def load_signing_key(store: CentralStore) -> SigningKey:
    """Central's signing key: the stored one, or a new one stored now (first start)."""
    pem = store.signing_key_pem()
    if pem is None:
        with store.transaction():
            store.save_signing_key_pem(SigningKey.generate().to_pem())
            pem = store.signing_key_pem()
    if pem is None:  # pragma: no cover - the insert above cannot vanish
        raise RuntimeError("the signing key was not stored")
    return SigningKey.from_pem(pem)


def _json(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(document, status=status, headers=headers)


def _unavailable(detail: str) -> web.Response:
    return _json(error_answer("central_unavailable", detail), status=503, headers={"Retry-After": "1"})


class CentralServer:
    """Central's state (store, key, registry, rate limit, faults) and its two HTTP apps."""

    def __init__(self, settings: CentralSettings) -> None:
        self.settings = settings
        self.store = CentralStore(settings.data_dir)
        self.signing_key = load_signing_key(self.store)
        self.registry = Registry(self.store, self.signing_key, settings.issuer)
        self.bucket = TokenBucket(settings.rate_per_second, settings.burst)
        self.faults = FaultSchedule()
        self.metrics = CentralMetrics()
        self._random = random.Random()  # noqa: S311 (simulated latency and failures, not security)
        self.desk = EnrollmentDesk(
            settings=settings, registry=self.registry, store=self.store, bucket=self.bucket, metrics=self.metrics,
            rng=self._random,
        )
        self._hang = HangGate()
        self._applied: OutageWindow | None = None
        self._apply_lock = asyncio.Lock()
        self._faults_changed = asyncio.Event()
        self._follower: asyncio.Task[None] | None = None
        self._started = time.monotonic()
        self._public_runner = web.AppRunner(
            self._public_app(self.desk.max_body_bytes), access_log=None, shutdown_timeout=2.0
        )
        self._admin_runner = web.AppRunner(self._admin_app(), access_log=None, shutdown_timeout=2.0)
        self.public_port = PublicPort(self._public_runner, settings.host, settings.port)
        self.admin_port = settings.resolved_admin_port

    # -- lifecycle

    async def start(self) -> None:
        """Listen on both ports and start following the fault schedule."""
        await self._admin_runner.setup()
        await self._public_runner.setup()
        admin_site = web.TCPSite(self._admin_runner, self.settings.host, self.admin_port)
        await admin_site.start()
        self.admin_port = int(self._admin_runner.addresses[0][1])
        await self.public_port.open()
        self.metrics.public_port_open.set(1)
        self.metrics.mode.state(OutageMode.NORMAL.value)
        self.metrics.people_on_file.set(self.registry.people)
        self._follower = asyncio.create_task(self._follow_faults(), name="central-sim-faults")

    async def stop(self) -> None:
        """Release held requests, close both ports, close the store."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        self._hang.release()
        await self._public_runner.cleanup()
        await self._admin_runner.cleanup()
        self.store.close()

    # -- faults

    async def _follow_faults(self) -> None:
        """Apply the mode in force whenever it changes by itself (a window starts or ends)."""
        while True:
            try:
                await self.apply_faults()
            except Exception:  # a bad moment must not stop the schedule being followed
                log.exception("cannot apply the outage mode; trying again")
            delay = self.faults.next_change_in()
            timeout = _RECHECK_SECONDS if delay is None else min(delay + 0.005, _RECHECK_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._faults_changed.wait(), timeout)
            self._faults_changed.clear()

    async def apply_faults(self) -> None:
        """Make the public port match the mode in force: closed while `down`, held requests released."""
        async with self._apply_lock:
            window = self.faults.in_force()
            if window != self._applied:
                log.info(
                    "outage mode in force", mode=window.mode.value, error_rate=window.error_rate,
                    latency_seconds=window.latency_seconds,
                )
                self.metrics.mode.state(window.mode.value)
                self._applied = window
            self._hang.follow(window)
            if window.mode is OutageMode.DOWN:
                await self.public_port.close()
            else:
                try:
                    await self.public_port.open()
                except OSError as error:
                    log.warning("public port cannot reopen yet", port=self.public_port.port, error=str(error))
            self.metrics.public_port_open.set(1 if self.public_port.is_open else 0)

    def outage_status(self) -> dict[str, Any]:
        """The answer of `GET /admin/outage`."""
        mono_now, wall_now = self.faults.now(), time.time()

        def wall(moment: float | None) -> str | None:
            if moment is None or moment == float("-inf"):
                return None
            return dt.datetime.fromtimestamp(wall_now + moment - mono_now, dt.UTC).isoformat(timespec="milliseconds")

        window = self.faults.in_force()
        return {
            "mode": window.mode.value,
            "since": wall(window.starts_at),
            "until": wall(window.ends_at),
            "remaining_seconds": None if window.ends_at is None else round(window.ends_at - mono_now, 3),
            "error_rate": window.error_rate,
            "latency_seconds": window.latency_seconds,
            "public_port_open": self.public_port.is_open,
            "scheduled": [
                {
                    "mode": "clear" if pending.mode is OutageMode.NORMAL else pending.mode.value,
                    "starts_at": wall(pending.starts_at),
                    "starts_in_seconds": round(pending.starts_at - mono_now, 3),
                    "until": wall(pending.ends_at),
                    "for_seconds": None if pending.ends_at is None else round(pending.ends_at - pending.starts_at, 3),
                    "error_rate": pending.error_rate,
                    "latency_seconds": pending.latency_seconds,
                }
                for pending in self.faults.scheduled()
            ],
        }

    # -- middlewares

    @web.middleware
    async def _measure(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count every answer by endpoint and outcome, and time it."""
        started = time.perf_counter()
        route = request.match_info.route.name or "other"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            self.metrics.requests.labels(endpoint=route, outcome=request.get("outcome", outcome_of(status))).inc()
            self.metrics.request_seconds.labels(endpoint=route).observe(time.perf_counter() - started)

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The outage in force, on the public port only."""
        window = self.faults.in_force()
        if window.mode is OutageMode.HANG:
            request["outcome"] = "held"
            with self.metrics.in_flight_held.track_inprogress():
                await self._hang.gate(window).wait()
            return _unavailable("held while central hung; the request was not processed")
        if window.mode is OutageMode.DOWN:  # a request on a connection opened before the port closed
            request["outcome"] = "injected_error"
            return _unavailable("central is down; the request was not processed")
        if window.mode is OutageMode.FLAKY and self._random.random() < window.error_rate:
            request["outcome"] = "injected_error"
            return _unavailable("injected failure (flaky link); the request was not processed")
        if window.mode is OutageMode.SLOW:
            await asyncio.sleep(window.latency_seconds)
        return await handler(request)

    @web.middleware
    async def _json_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every error as `{"error": code, "detail": ...}`; a 4xx means the request itself is wrong."""
        try:
            return await handler(request)
        except InvalidEnrollment as error:
            return _json(error_answer(error.code, error.detail, error.request_id), status=error.status)
        except RequestConflict as error:
            return _json(error_answer(error.code, error.detail, error.request_id), status=409)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            headers = {name: value for name, value in error.headers.items() if name in _KEPT_ERROR_HEADERS}
            code = _ERROR_CODES.get(error.status, "http_error")
            return _json(error_answer(code, error.reason), status=error.status, headers=headers)

    # -- apps

    def _public_app(self, max_bytes: int) -> web.Application:
        app = web.Application(
            middlewares=[self._measure, self._inject_faults, self._json_errors], client_max_size=max_bytes
        )
        app.router.add_post("/v1/enrollments", self.desk.enroll, name="enroll")
        app.router.add_post("/v1/enrollments:batch", self.desk.enroll_batch, name="enroll_batch")
        app.router.add_get("/v1/jwks", self._jwks, name="jwks")
        app.router.add_get("/health", self._health, name="health")
        app.router.add_get("/admin/outage", self._outage_status, name="admin_outage")
        app.router.add_post("/admin/outage", self._outage_command, name="admin_outage_command")
        return app

    def _admin_app(self) -> web.Application:
        app = web.Application(middlewares=[self._measure, self._json_errors])
        app.router.add_get("/admin/outage", self._outage_status, name="admin_outage")
        app.router.add_post("/admin/outage", self._outage_command, name="admin_outage_command")
        app.router.add_get("/health", self._health, name="health")
        app.router.add_get("/metrics", self._metrics, name="metrics")
        app.router.add_get("/v1/jwks", self._jwks, name="jwks")
        return app

    # -- handlers (the enrollment handlers are the desk's)

    async def _jwks(self, _request: web.Request) -> web.Response:
        """`GET /v1/jwks`: central's public keys."""
        return _json(jwk_set([self.signing_key]), headers={"Cache-Control": "public, max-age=300"})

    async def _health(self, _request: web.Request) -> web.Response:
        """`GET /health`: up, the mode in force, counts."""
        by_kind = dict(self.registry.decisions_by_kind)
        return _json({
            "status": "ok",
            "service": "central-sim",
            "mode": self.faults.in_force().mode.value,
            "public_port_open": self.public_port.is_open,
            "uptime_seconds": round(time.monotonic() - self._started, 3),
            "kid": self.signing_key.kid,
            "counts": {
                "people_on_file": self.registry.people,
                "decisions": sum(by_kind.values()),
                "by_decision": by_kind,
            },
        })

    # -- admin handlers

    def _authorize(self, request: web.Request) -> None:
        expected = f"Bearer {self.settings.admin_token.get_secret_value()}"
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPUnauthorized(reason="admin token missing or wrong", headers={"WWW-Authenticate": "Bearer"})

    async def _outage_status(self, request: web.Request) -> web.Response:
        """`GET /admin/outage`: the mode in force, until when, and the scheduled windows."""
        self._authorize(request)
        return _json(self.outage_status())

    async def _outage_command(self, request: web.Request) -> web.Response:
        """`POST /admin/outage`: start, schedule or clear an outage; answers with the new status."""
        self._authorize(request)
        document = parse_json(await request.read())
        try:
            command = OutageCommand.model_validate(document)
        except ValidationError as error:
            detail = error.errors(include_url=False, include_context=False)
            raise InvalidEnrollment(422, "invalid_outage_command", detail) from None
        self.faults.command(command)
        log.info("outage command", **command.model_dump())
        await self.apply_faults()
        self._faults_changed.set()
        return _json(self.outage_status())

    async def _metrics(self, _request: web.Request) -> web.Response:
        """`GET /metrics` (admin port): Prometheus text format."""
        self.metrics.people_on_file.set(self.registry.people)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
