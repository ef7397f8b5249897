"""Blank-card stock on `ektp.station.inventory` (compacted, keyed by station id): reading it, restocking.

The station's journal is the truth of its stock; the topic is how the station shows it (one event per
batch of cards printed, per misprint and per count) and how `ektp station restock` hands it blanks: a
`restock` event whose `change` the station applies once (by event_id) and answers with a `count` of its
corrected total.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from events.printing import StationInventory
from pipeline.config import Settings
from pipeline.kafka.admin import partition_ids
from pipeline.kafka.security import client_options
from pipeline.logs import get_logger
from pipeline.station.config import STATION_ROLE
from pipeline.station.errors import StationError
from pipeline.topology.topics import STATION_INVENTORY

log = get_logger(__name__)


def decode_inventory(key: bytes | None, value: bytes | None, station_id: str) -> StationInventory | None:
    """The event of `station_id` in a record, or None (another station's, a tombstone, unreadable)."""
    if key != station_id.encode() or value is None:
        return None
    try:
        event = StationInventory.model_validate_json(value)
    except ValidationError:
        log.error("unreadable inventory event skipped", station_id=station_id)
        return None
    return event if event.station_id == station_id else None


class InventoryReader:
    """Reads one station's inventory events from the topic's beginning, then follows new ones, as a station."""

    def __init__(self, settings: Settings, station_id: str) -> None:
        self.station_id = station_id
        self._settings = settings
        self._consumer = AIOKafkaConsumer(
            **client_options(settings, STATION_ROLE), group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", client_id=f"ektp-station-{station_id}-inventory",
        )
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        partitions = await partition_ids(self._settings, STATION_INVENTORY.name, role=STATION_ROLE)
        if not partitions:
            raise StationError(f"topic {STATION_INVENTORY.name} does not exist: run `ektp topics create`")
        await self._consumer.start()
        self._partitions = [TopicPartition(STATION_INVENTORY.name, partition) for partition in partitions]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def catch_up(self) -> list[StationInventory]:
        """Every event of this station now on the topic, oldest first."""
        end = await self._consumer.end_offsets(self._partitions)
        events: list[StationInventory] = []
        while await self._behind(end):
            batches = await self._consumer.getmany(*self._partitions, timeout_ms=500)
            for records in batches.values():
                events.extend(
                    event for record in records
                    if (event := decode_inventory(record.key, record.value, self.station_id)) is not None
                )
        return events

    async def _behind(self, end: dict[TopicPartition, int]) -> bool:
        for tp in self._partitions:
            if await self._consumer.position(tp) < end[tp]:
                return True
        return False

    async def follow(self) -> AsyncIterator[StationInventory]:
        """This station's events as they come."""
        while True:
            batches = await self._consumer.getmany(*self._partitions, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    event = decode_inventory(record.key, record.value, self.station_id)
                    if event is not None:
                        yield event


async def last_inventory(settings: Settings, station_id: str) -> StationInventory | None:
    """The station's latest published stock event, or None when it never published one."""
    reader = InventoryReader(settings, station_id)
    await reader.start()
    try:
        events = await reader.catch_up()
    finally:
        await reader.stop()
    return events[-1] if events else None


async def restock(settings: Settings, station_id: str, count: int, *, timeout: float = 30.0) -> StationInventory:
    """Give `station_id` `count` blanks: a restock event of change +count over the last known stock.

    Sent as a station (`STATION_ROLE`): only stations write the inventory topic.
    """
    async with asyncio.timeout(timeout):
        last = await last_inventory(settings, station_id)
        event = StationInventory(
            station_id=station_id, blank_stock=(last.blank_stock if last else 0) + count, change=count,
            reason="restock", producer="ektp-pipeline/station-restock",
        )
        producer = AIOKafkaProducer(**client_options(settings, STATION_ROLE), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(STATION_INVENTORY.name, event.model_dump_json().encode(),
                                         key=station_id.encode())
        finally:
            await producer.stop()
    return event
