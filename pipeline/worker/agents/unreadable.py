"""The one policy for a message an agent cannot read: set aside for an operator, never only logged.

It goes to `ektp.internal.unreadable` with its key, value and headers unchanged, plus the dead-letter
headers that say where it was read, by which step and why; the dashboard counts that topic, and
`ektp_unreadable_messages_total{step}` counts each step's. The step goes on with its next message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import faust

from events.approval import FailureReason
from events.common import utc_now
from pipeline.logs import get_logger
from pipeline.topology.topics import UNREADABLE
from pipeline.worker import metrics
from pipeline.worker.agents.dead_letters import failure_headers
from pipeline.worker.agents.kafka_io import position
from pipeline.worker.wiring import StepTopics

log = get_logger(__name__)
Message = TypeVar("Message")


class SetAside:
    """Sends the messages one step cannot read to the unreadable stream."""

    def __init__(self, app: faust.App, topics: StepTopics) -> None:
        self.topic = topics.output(UNREADABLE)
        self.consumer_group = app.conf.id
        self.step = topics.step.name

    async def __call__(self, event: Any, error: BaseException) -> None:
        """Set `event` aside because of `error`."""
        at = utc_now()
        headers = failure_headers(
            original=event, consumer_group=self.consumer_group, stage=self.step, error=error,
            reason=FailureReason.UNREADABLE, attempts=1, first_failure_at=at, last_failure_at=at,
        )
        await self.topic.send(key=event.key, value=event.value, headers=headers)
        metrics.UNREADABLE.labels(self.step).inc()
        topic, partition, offset = position(event)
        log.error("unreadable message set aside for an operator", step=self.step, topic=topic,
                  partition=partition, offset=offset, error_class=type(error).__name__)


async def readable(
    events: AsyncIterator[Any], decode: Callable[[Any], Message], set_aside: SetAside
) -> AsyncIterator[tuple[Any, Message]]:
    """Each event a step can decode, with what it decodes to; every other is set aside, and the step goes on.

    `decode` raises `ValueError` (pydantic's `ValidationError` is one) for a message it cannot read.
    """
    async for event in events:
        try:
            message = decode(event)
        except ValueError as error:
            await set_aside(event, error)
            continue
        yield event, message
