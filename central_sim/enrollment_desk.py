"""The enrollment endpoints: rate limit, latency model, and decisions one by one or in a batch.

`POST /v1/enrollments` answers one decision; `POST /v1/enrollments:batch` answers a list of per-item
results, with one latency charge for the whole batch and one rate-limit token per item (see the package
docstring for the shapes).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import structlog
from aiohttp import web

from central_sim.config import CentralSettings
from central_sim.errors import InvalidEnrollment, RequestConflict
from central_sim.metrics import CentralMetrics, outcome_of
from central_sim.ratelimit import TokenBucket
from central_sim.registry import Enrolled, Registry
from central_sim.store import CentralStore
from central_sim.wire import decision_answer, error_answer, parse_enrollment, parse_json, request_id_of

log = structlog.get_logger("central_sim.enrollment_desk")

_ENROLLMENT_MAX_BYTES = 16 * 1024  # per enrollment in a body; a contract submission is about 3 KiB


class EnrollmentDesk:
    """The HTTP handlers of enrollments, over the registry."""

    def __init__(
        self,
        *,
        settings: CentralSettings,
        registry: Registry,
        store: CentralStore,
        bucket: TokenBucket,
        metrics: CentralMetrics,
        rng: random.Random,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._store = store
        self._bucket = bucket
        self._metrics = metrics
        self._random = rng
        self.max_body_bytes = max(1024**2, settings.max_batch * _ENROLLMENT_MAX_BYTES)

    async def enroll(self, request: web.Request) -> web.Response:
        """`POST /v1/enrollments`: one enrollment, one decision."""
        if self._bucket.take(1) == 0:
            self._metrics.enrollments.labels(outcome="rate_limited").inc()
            return self._rate_limited()
        try:
            enrollment = parse_enrollment(parse_json(await request.read()))
            await self._charge_latency()
            enrolled = self._registry.enroll(enrollment)
        except InvalidEnrollment as error:
            self._metrics.enrollments.labels(outcome=outcome_of(error.status)).inc()
            raise
        except RequestConflict:
            self._metrics.enrollments.labels(outcome="conflict").inc()
            raise
        self._count(enrolled)
        headers = {"Idempotent-Replayed": "true"} if enrolled.replayed else None
        return web.json_response(decision_answer(enrolled.decision), headers=headers)

    async def enroll_batch(self, request: web.Request) -> web.Response:
        """`POST /v1/enrollments:batch`: a list of enrollments, a list of results in the same order."""
        document = parse_json(await request.read())
        if not isinstance(document, list):
            raise InvalidEnrollment(422, "invalid_batch", "a batch is a JSON array of enrollments")
        if len(document) > self._settings.max_batch:
            raise InvalidEnrollment(413, "batch_too_large", f"at most {self._settings.max_batch} enrollments")
        if not document:
            return web.json_response([])
        granted = self._bucket.take(len(document))
        if granted == 0:
            self._metrics.enrollments.labels(outcome="rate_limited").inc(len(document))
            return self._rate_limited()
        await self._charge_latency()
        retry_after = self._bucket.retry_after()
        results: list[dict[str, Any]] = []
        with self._store.transaction():
            for index, item in enumerate(document):
                if index >= granted:
                    self._metrics.enrollments.labels(outcome="rate_limited").inc()
                    answer = error_answer("rate_limited", f"over central's rate; retry after {retry_after} s")
                    results.append(
                        {"status": 429, "request_id": request_id_of(item), **answer, "retry_after": retry_after}
                    )
                    continue
                results.append(self._enroll_item(item))
        by_status = Counter(str(result["status"]) for result in results)
        log.info("batch answered", size=len(results), by_status=dict(by_status))
        return web.json_response(results)

    def _enroll_item(self, item: object) -> dict[str, Any]:
        try:
            enrolled = self._registry.enroll(parse_enrollment(item))
        except InvalidEnrollment as error:
            self._metrics.enrollments.labels(outcome=outcome_of(error.status)).inc()
            return {"status": error.status, "request_id": request_id_of(item), **error_answer(error.code, error.detail)}
        except RequestConflict as error:
            self._metrics.enrollments.labels(outcome="conflict").inc()
            return {"status": 409, "request_id": error.request_id, **error_answer(error.code, error.detail)}
        self._count(enrolled)
        return {"status": 200, **decision_answer(enrolled.decision), "replayed": enrolled.replayed}

    def _rate_limited(self) -> web.Response:
        retry_after = self._bucket.retry_after()
        answer = error_answer("rate_limited", f"over central's rate; retry after {retry_after} s")
        return web.json_response(answer, status=429, headers={"Retry-After": str(retry_after)})

    async def _charge_latency(self) -> None:
        """Deduplication against a whole country takes a while: base latency +/- jitter, per call."""
        jitter = self._random.uniform(-self._settings.jitter_ms, self._settings.jitter_ms)
        delay = max(0.0, self._settings.latency_ms + jitter) / 1000
        if delay > 0:
            await asyncio.sleep(delay)

    def _count(self, enrolled: Enrolled) -> None:
        if enrolled.replayed:
            self._metrics.enrollments.labels(outcome="replayed").inc()
            return
        self._metrics.enrollments.labels(outcome="decided").inc()
        self._metrics.decisions.labels(decision=enrolled.decision.decision).inc()
