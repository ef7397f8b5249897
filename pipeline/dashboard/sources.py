"""The live sources of the dashboard: the broker's offsets, the central link, and the stations' blank stock.

The status and dead-letter views are the project's own (`pipeline.status.view`, `pipeline.deadletter.view`);
this module adds what only the dashboard needs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import defaultdict, deque

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from events.desk import DeskOutboxReported
from events.printing import StationInventory
from pipeline.config import Settings
from pipeline.dashboard.figures import Partition, breaker_from_metrics
from pipeline.dashboard.public import birth_date_digest
from pipeline.kafka.groups import Member, group_members
from pipeline.kafka.reading import Record, TopicFollower
from pipeline.kafka.security import client_options
from pipeline.probes import http_ok
from pipeline.topology.routes import OPERATORS
from pipeline.topology.topics import DESK_OUTBOX, ENROLLMENT_RECORDED, REGISTRY, STATION_INVENTORY

# The dashboard's Kafka principal: it reads what the operators read, describes every registry topic (end offsets)
# and the worker's and stations' groups (committed offsets, members), and writes only the replay.
DASHBOARD_ROLE = OPERATORS.role

STATION_GROUP_PREFIX = "ektp-station-"  # pipeline.station.config.StationConfig.group_id: one group per office
PARTITIONS_REFRESH = 30.0  # seconds between looks at the topics' partitions (a topic may grow some)
PRINTS_KEPT = 10_000  # print events kept per station: enough for any rate the forecast looks at


class KafkaSource:
    """End offsets of every registry topic and the committed offsets of the worker's and stations' groups."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._partitions_at = float("-inf")

    async def start(self) -> None:
        """Open the clients (they must be made inside the running loop)."""
        options = client_options(self.settings, DASHBOARD_ROLE)
        self._admin = AIOKafkaAdminClient(**options, client_id="ektp-dashboard", request_timeout_ms=10_000)
        self._consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False,
                                          client_id="ektp-dashboard-offsets")
        await self._admin.start()
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    @property
    def admin(self) -> AIOKafkaAdminClient:
        assert self._admin is not None, "KafkaSource.start() first"
        return self._admin

    async def end_offsets(self) -> dict[Partition, int]:
        assert self._consumer is not None, "KafkaSource.start() first"
        ends = await self._consumer.end_offsets(await self._registry_partitions())
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}

    async def committed(self) -> dict[str, dict[Partition, int]]:
        """Committed offsets of the worker's group (the faust app id) and every office's station group."""
        groups = {self.settings.app_id}
        for listed in await self.admin.list_consumer_groups():
            if str(listed[0]).startswith(STATION_GROUP_PREFIX):
                groups.add(str(listed[0]))
        found: dict[str, dict[Partition, int]] = {}
        for group in sorted(groups):
            offsets = await self.admin.list_consumer_group_offsets(group)
            if offsets:
                found[group] = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
        return found

    async def workers(self) -> list[Member]:
        """The worker group's members, each with its partitions; none while the group is rebalancing."""
        return await group_members(self.settings, self.settings.app_id, role=DASHBOARD_ROLE) or []

    async def _registry_partitions(self) -> list[TopicPartition]:
        now = asyncio.get_running_loop().time()
        if not self._partitions or now - self._partitions_at > PARTITIONS_REFRESH:
            described = await self.admin.describe_topics([spec.name for spec in REGISTRY])
            self._partitions = [TopicPartition(topic["topic"], partition["partition"])
                                for topic in described if topic["error_code"] == 0
                                for partition in topic["partitions"]]
            self._partitions_at = now
        return self._partitions


class LinkSource:
    """Central's /health, and the breaker gauge in the worker's /metrics."""

    def __init__(self, settings: Settings) -> None:
        self.health_url = settings.central_url.rstrip("/") + "/health"
        self.metrics_url = settings.dashboard_worker_metrics_url or (
            f"http://127.0.0.1:{settings.worker_metrics_port}/metrics"
        )

    async def central_up(self) -> bool:
        return await http_ok(self.health_url)

    async def breaker(self) -> str | None:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as session, \
                    session.get(self.metrics_url) as response:
                if response.status != 200:
                    return None
                return breaker_from_metrics(await response.text())
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None


class BirthDateView(TopicFollower):
    """Follows `ektp.enrollment.recorded`: a keyed hash of each recorded request's birth date, for the citizens'
    page to check a typed one against; the record itself, and the date, are not kept."""

    topics = (ENROLLMENT_RECORDED.name,)

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, DASHBOARD_ROLE)
        self.secret = settings.citizen_key_secret.get_secret_value().encode()
        self.digests: dict[str, bytes] = {}

    def take(self, record: Record) -> None:
        """Keep the digest of a recorded request; an unreadable record is skipped."""
        if record.value is None:
            return
        try:  # two fields of a large record: read them, not the whole model
            submission = json.loads(record.value)["submission"]
            request_id, born = submission["request_id"], dt.date.fromisoformat(submission["resident"]["birth_date"])
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(request_id, str):
            self.digests[request_id] = birth_date_digest(request_id, born, self.secret)


class DeskView(TopicFollower):
    """Follows `ektp.desk.outbox` from its start: each recording desk's last report of its outbox."""

    topics = (DESK_OUTBOX.name,)

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, DASHBOARD_ROLE)
        self.latest: dict[str, DeskOutboxReported] = {}

    def take(self, record: Record) -> None:
        """Keep a desk's report; an unreadable one is skipped."""
        if record.value is None:
            return
        try:
            report = DeskOutboxReported.model_validate_json(record.value)
        except ValidationError:
            return
        self.latest[report.desk_id] = report


class InventoryView(TopicFollower):
    """Follows `ektp.station.inventory` from its start: every station's latest stock and its recent prints."""

    topics = (STATION_INVENTORY.name,)

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, DASHBOARD_ROLE)
        self.latest: dict[str, StationInventory] = {}
        # (when, cards) of each print event: a station reports a batch of cards in one event (`change` = -cards)
        self.prints: defaultdict[str, deque[tuple[dt.datetime, int]]] = defaultdict(lambda: deque(maxlen=PRINTS_KEPT))

    def take(self, record: Record) -> None:
        """Keep a stock event; an unreadable one is skipped."""
        if record.value is None:
            return
        try:
            event = StationInventory.model_validate_json(record.value)
        except ValidationError:
            return
        self.latest[event.station_id] = event
        if event.reason == "print" and event.change < 0:
            self.prints[event.station_id].append((event.updated_at, -event.change))
