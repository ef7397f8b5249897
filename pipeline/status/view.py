"""A live view of `ektp.request.status`: the latest status of every request, as the topic says."""

from __future__ import annotations

import contextlib
from collections import Counter

from pydantic import ValidationError

from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.kafka.reading import Record, TopicFollower
from pipeline.topology.topics import REQUEST_STATUS


class StatusView(TopicFollower):
    """Reads the compacted status topic from its start and keeps following it, as `role`."""

    topics = (REQUEST_STATUS.name,)

    def __init__(self, settings: Settings, role: str) -> None:
        super().__init__(settings, role)
        self.latest: dict[str, RequestStatus] = {}

    def take(self, record: Record) -> None:
        """Keep a request's latest status; an unreadable record is skipped."""
        if record.value is None:
            return
        with contextlib.suppress(ValidationError):
            status = RequestStatus.model_validate_json(record.value)
            self.latest[status.request_id] = status

    def states(self, request_ids: set[str] | None = None) -> Counter[RequestState]:
        """How many requests (of `request_ids`, or all) are in each state."""
        return Counter(status.state for request_id, status in self.latest.items()
                       if request_ids is None or request_id in request_ids)

    def state_of(self, request_id: str) -> RequestState | None:
        status = self.latest.get(request_id)
        return status.state if status else None
