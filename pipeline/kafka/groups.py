"""A consumer group as its coordinator describes it: its members and the partitions each owns.

The dashboard shows each worker with its partitions from this; the failover test watches a worker's
partitions move to the one that survives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.coordinator.protocol import ConsumerProtocol
from aiokafka.errors import KafkaError

from pipeline.config import Settings
from pipeline.kafka.admin import admin_client
from pipeline.topology.routes import OPERATORS


@dataclass(frozen=True)
class Member:
    """A member of a consumer group: who it is, where, and its partitions by topic."""

    client_id: str
    host: str
    partitions: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def of(self, topic: str) -> tuple[int, ...]:
        """Its partitions of `topic`, sorted."""
        return self.partitions.get(topic, ())


async def group_members(settings: Settings, group: str, *, role: str = OPERATORS.role) -> list[Member] | None:
    """The members of `group` now, sorted by client id; None when the broker cannot say (no coordinator yet).

    Asked as `role`, which needs DESCRIBE on the group: the operators' role has it on the worker's group.
    """
    try:
        async with admin_client(settings, role=role) as admin:
            [response] = await admin.describe_consumer_groups([group])
    except (KafkaError, OSError, TimeoutError):
        return None
    described: dict[str, Any] = response.to_object()
    members = [
        Member(member["client_id"], member["client_host"].lstrip("/"), assigned(member["member_assignment"]))
        for found in described["groups"] if found["group"] == group
        for member in found["members"]
    ]
    return sorted(members, key=lambda member: member.client_id)


def assigned(member_assignment: bytes) -> dict[str, tuple[int, ...]]:
    """A member's partitions by topic, from the consumer protocol's assignment bytes (empty while rebalancing)."""
    if not member_assignment:
        return {}
    assignment = ConsumerProtocol.ASSIGNMENT.decode(member_assignment)
    return {topic: tuple(sorted(partitions)) for topic, partitions in assignment.assignment}
