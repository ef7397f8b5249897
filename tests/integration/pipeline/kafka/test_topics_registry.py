"""`ensure_topics` creates the registry's topics on the real broker, idempotently, with their configs."""

from __future__ import annotations

import dataclasses

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from pipeline.config import Settings
from pipeline.kafka.admin import admin_client, ensure_topics
from pipeline.topology.topics import DESK_OUTBOX, REGISTRY, REQUEST_STATUS, STATION_INVENTORY

pytestmark = pytest.mark.integration


async def test_topics_are_created_once_then_found(kafka: Settings) -> None:
    """The first run creates every registry topic; a second run finds them and changes nothing."""
    first = await ensure_topics(kafka)
    second = await ensure_topics(kafka)

    names = {spec.name for spec in REGISTRY}
    assert {o.name for o in first} == names
    assert {o.outcome for o in first} <= {"created", "exists"}
    assert {o.outcome for o in second} == {"exists"}
    expected = {spec.name: spec.partition_count(kafka.topic_partitions) for spec in REGISTRY}
    assert {o.name: o.partitions for o in second} == expected


async def test_state_topics_are_compacted_on_the_broker(kafka: Settings) -> None:
    """The broker really keeps the status, inventory and desk-outbox topics compacted, and the others by time."""
    await ensure_topics(kafka)
    async with admin_client(kafka) as client:
        responses = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in REGISTRY]
        )
    policies = {}
    for response in responses:
        for resource in response.resources:
            _code, _message, _type, name, entries = resource[:5]
            policies[name] = {entry[0]: entry[1] for entry in entries}["cleanup.policy"]
    assert policies[REQUEST_STATUS.name] == "compact"
    assert policies[STATION_INVENTORY.name] == "compact"
    assert policies[DESK_OUTBOX.name] == "compact"
    others = set(policies) - {REQUEST_STATUS.name, STATION_INVENTORY.name, DESK_OUTBOX.name}
    assert {policies[name] for name in others} == {"delete"}


async def test_a_partition_mismatch_is_reported_not_changed(kafka: Settings) -> None:
    """A topic that exists with other partitions is reported as a mismatch and left as it is."""
    await ensure_topics(kafka)
    wider = dataclasses.replace(REGISTRY[0], partitions=kafka.topic_partitions + 2)
    [outcome] = await ensure_topics(kafka, [wider])
    assert outcome.outcome == "mismatch"
    assert outcome.partitions == kafka.topic_partitions


async def test_a_topic_with_fewer_replicas_than_the_settings_want_is_reported_not_changed(kafka: Settings) -> None:
    """A topic made before the broker grew to a cluster keeps its one replica: the worker and `ektp up` say so."""
    await ensure_topics(kafka)
    on_a_cluster = kafka.model_copy(update={"topic_replication": kafka.topic_replication + 2})
    [outcome] = await ensure_topics(on_a_cluster, [REGISTRY[0]])
    assert outcome.outcome == "mismatch"
    assert outcome.partitions == kafka.topic_partitions
    assert f"has {kafka.topic_replication} replica" in outcome.detail
    assert f"settings want {kafka.topic_replication + 2}" in outcome.detail
    [unchanged] = await ensure_topics(kafka, [REGISTRY[0]])
    assert unchanged.outcome == "exists"
