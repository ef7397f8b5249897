"""A live view of `ektp.request.status`: the latest status of every request, as the topic says."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.topics import REQUEST_STATUS


class TopicFollower:
    """Reads one topic from its start, without a consumer group, and keeps following it.

    A subclass keeps what it needs of each record in `take`; the follower owns the consumer and its task.
    """

    topic: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.settings.bootstrap_servers, group_id=None,
            auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=5000,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _follow(self) -> None:
        assert self._consumer is not None
        async for record in self._consumer:
            if record.value is not None:
                self.take(record.value)

    def take(self, value: bytes) -> None:
        raise NotImplementedError


class StatusView(TopicFollower):
    """Reads the compacted status topic from its start and keeps following it."""

    topic = REQUEST_STATUS.name

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.latest: dict[str, RequestStatus] = {}

    def take(self, value: bytes) -> None:
        """Keep a request's latest status; an unreadable record is skipped."""
        with contextlib.suppress(ValidationError):
            status = RequestStatus.model_validate_json(value)
            self.latest[status.request_id] = status

    def states(self, request_ids: set[str] | None = None) -> Counter[RequestState]:
        """How many requests (of `request_ids`, or all) are in each state."""
        return Counter(status.state for request_id, status in self.latest.items()
                       if request_ids is None or request_id in request_ids)

    def state_of(self, request_id: str) -> RequestState | None:
        status = self.latest.get(request_id)
        return status.state if status else None
