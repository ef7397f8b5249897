"""The pipeline's HTTP client to central: one shared session, timeouts, bounded jittered retries that
honour Retry-After, a concurrency limit and a circuit breaker.

Every call ends in a `CentralResponse`, a `CentralRejected` (permanent) or a `CentralUnavailable`
(transient): the approval step routes the last to the dead-letter stream.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Self, Union

import aiohttp
import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from events.approval import CentralDecision, FailureReason
from pipeline.central.breaker import CircuitBreaker
from pipeline.central.errors import CentralRejected, CentralUnavailable, CircuitOpen
from pipeline.config import Settings

ENROLL_PATH = "/v1/enrollments"
BATCH_PATH = "/v1/enrollments:batch"
JSON_CONTENT = {"Content-Type": "application/json"}
MAX_BATCH = 500  # central's largest batch (central_sim `--max-batch`)

BatchAnswer = Union["CentralResponse", CentralRejected, CentralUnavailable]


class CentralResponse(BaseModel):
    """Central's decision on one enrollment, with its signed token."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    decision: CentralDecision
    reason: str
    decided_at: AwareDatetime
    token: str


class _Transient(Exception):
    """Inside the retry loop: this try failed in a way a later try may not."""

    def __init__(self, reason: FailureReason, detail: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.reason: FailureReason = reason
        self.detail = detail
        self.status = status
        self.retry_after = retry_after


class CentralClient:
    """Calls to central; use as `async with CentralClient(settings) as central: ...`."""

    def __init__(
        self,
        settings: Settings,
        *,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=settings.central_breaker_failures, cooldown=settings.central_breaker_cooldown
        )
        self._sleep = sleep
        self._jitter = jitter
        self._in_flight = asyncio.Semaphore(settings.central_concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the one shared HTTP session (its connection pool is bounded by the concurrency limit)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                base_url=self.settings.central_url,
                timeout=aiohttp.ClientTimeout(
                    total=self.settings.central_timeout, connect=self.settings.central_connect_timeout
                ),
                # A fresh connection per call: a connection left over from an outage (central closed or held
                # it) can never swallow a later call. On loopback and a private line that costs little.
                connector=aiohttp.TCPConnector(limit=self.settings.central_concurrency, force_close=True),
                raise_for_status=False,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def enroll(self, enrollment: Mapping[str, Any]) -> CentralResponse:
        """Ask central to decide one enrollment (the submission's JSON shape, plus `citizen_key`)."""
        body = await self._call(ENROLL_PATH, enrollment)
        try:
            return CentralResponse.model_validate(body)
        except ValidationError as error:
            self.breaker.record_failure(FailureReason.BAD_RESPONSE)
            raise CentralUnavailable(
                FailureReason.BAD_RESPONSE, f"central's answer is not a decision: {error}"
            ) from error

    async def enroll_batch(self, enrollments: Sequence[Mapping[str, Any]]) -> list[BatchAnswer]:
        """Central's answer to each enrollment, in order, from one call (`POST /v1/enrollments:batch`).

        Central decides a batch's items in order, so one citizen's records keep their order; a rate limit
        refuses a tail of the batch, never an item before a granted one. Each answer is a `CentralResponse`,
        a `CentralRejected` (that item's 4xx) or a `CentralUnavailable` (its 429 or 5xx). The whole call
        failing raises as `enroll` does. At most `MAX_BATCH` items.
        """
        if not enrollments:
            return []
        body = await self._call(BATCH_PATH, list(enrollments))
        if not isinstance(body, list) or len(body) != len(enrollments):
            self.breaker.record_failure(FailureReason.BAD_RESPONSE)
            raise CentralUnavailable(FailureReason.BAD_RESPONSE, "central's batch answer does not match the batch")
        return [_batch_answer(item) for item in body]

    async def _call(self, path: str, payload: Any) -> Any:
        """POST with retries; returns the parsed JSON of a 2xx answer."""
        attempts = self.settings.central_max_attempts
        # Encoded once for every try, with orjson: a batch is a few hundred KB that the stdlib encoder takes
        # a noticeable share of the worker's time to write.
        body_bytes = orjson.dumps(payload)
        last: _Transient | None = None
        for attempt in range(1, attempts + 1):
            if not self.breaker.allow():
                if last is not None:  # this call did reach central and failed: that failure is its answer
                    raise CentralUnavailable(last.reason, last.detail, attempts=attempt - 1, status=last.status,
                                             retry_after=last.retry_after)
                raise CircuitOpen(self.breaker.retry_in())
            try:
                body = await self._post_once(path, body_bytes)
            except _Transient as failure:
                last = failure
                # a busy central is a healthy one: not the breaker's business
                if failure.reason != FailureReason.RATE_LIMITED:
                    self.breaker.record_failure(failure.reason)
                else:
                    self.breaker.release_probe()
                delay = self._backoff(attempt, failure.retry_after)
                if attempt == attempts or delay is None:
                    raise CentralUnavailable(
                        failure.reason, failure.detail, attempts=attempt, status=failure.status,
                        retry_after=failure.retry_after,
                    ) from None
                await self._sleep(delay)
            except BaseException:
                self.breaker.release_probe()  # cancelled, or a rejection: the probe is over either way
                raise
            else:
                self.breaker.record_success()
                return body
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _post_once(self, path: str, body: bytes) -> Any:
        if self._session is None:
            await self.start()
        assert self._session is not None
        async with self._in_flight:
            try:
                async with self._session.post(path, data=body, headers=JSON_CONTENT) as response:
                    status = response.status
                    text = await response.text()
                    retry_after = _retry_after(response.headers.get("Retry-After"))
            except aiohttp.ClientConnectorError as error:
                raise _Transient(FailureReason.REFUSED, f"cannot connect to central: {error.os_error}") from error
            except TimeoutError as error:
                raise _Transient(FailureReason.TIMEOUT, f"no answer within {self.settings.central_timeout}s") from error
            except aiohttp.ClientError as error:
                raise _Transient(FailureReason.SERVER_ERROR, f"{type(error).__name__}: {error}") from error
        if status == 429:
            raise _Transient(FailureReason.RATE_LIMITED, "central's rate limit", status, retry_after)
        if status >= 500:
            raise _Transient(FailureReason.SERVER_ERROR, f"HTTP {status}: {text[:200]}", status, retry_after)
        if status >= 400:
            self.breaker.record_success()  # central answered: the link is fine, the request is not
            code, detail = _error_of(text)
            raise CentralRejected(status, code, detail)
        try:
            return orjson.loads(text)
        except ValueError as error:  # orjson's JSONDecodeError is one
            raise _Transient(FailureReason.BAD_RESPONSE, f"HTTP {status} with a body that is not JSON",
                             status) from error

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Full-jitter exponential delay before the next try; None when Retry-After is beyond our patience."""
        cap = self.settings.central_backoff_max
        delay = self._jitter() * min(cap, self.settings.central_backoff_base * 2.0 ** (attempt - 1))
        if retry_after is not None:
            if retry_after > cap:
                return None  # waiting that long belongs to the dead-letter stream, not to this call
            delay = max(delay, retry_after)
        return delay


def _batch_answer(item: Any) -> BatchAnswer:
    """One item of a batch answer: `{"status": 200, ...decision}` or `{"status": 4xx|5xx, "error", "detail"}`."""
    if not isinstance(item, dict):
        return CentralUnavailable(FailureReason.BAD_RESPONSE, "an item of central's batch answer is not an object")
    status = item.get("status")
    if status == 200:
        try:
            return CentralResponse.model_validate(item)
        except ValidationError as error:
            return CentralUnavailable(FailureReason.BAD_RESPONSE, f"central's answer is not a decision: {error}")
    code, detail = str(item.get("error", "unknown")), str(item.get("detail", ""))[:500]
    if status == 429:
        return CentralUnavailable(FailureReason.RATE_LIMITED, detail, status=429,
                                  retry_after=_number(item.get("retry_after")))
    if isinstance(status, int) and 400 <= status < 500:
        return CentralRejected(status, code, detail)
    return CentralUnavailable(FailureReason.SERVER_ERROR, f"HTTP {status}: {code} {detail}"[:300],
                              status=status if isinstance(status, int) else None)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _retry_after(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None  # an HTTP date: rare from central; the jittered backoff applies


def _error_of(text: str) -> tuple[str, str]:
    try:
        body = json.loads(text)
    except ValueError:
        return "unknown", text[:200]
    if isinstance(body, dict):
        return str(body.get("error", "unknown")), str(body.get("detail", ""))[:500]
    return "unknown", text[:200]
