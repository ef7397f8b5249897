"""`ektp broker start --nodes 3`: a real three-node KRaft cluster that writes and reads with a node SIGKILLed.

The cluster runs on free consecutive ports in a temporary folder, started and inspected through the command
line as a person would, with an environment that names no node count: the run dir remembers it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from pipeline.broker import BrokerLauncher
from pipeline.config import Settings
from pipeline.desk.enroll import DESK_ROLE
from pipeline.kafka.admin import admin_client, replication_health
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.topology.topics import ENROLLMENT_SUBMITTED, REGISTRY
from tests.support.env import broker_settings, settings_env

pytestmark = pytest.mark.integration

NODES = 3


def ektp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], env=env, capture_output=True, text=True, timeout=180,
        check=False,
    )


def remembering_env(settings: Settings) -> dict[str, str]:
    """The environment of a person who typed `--nodes 3` once: no node count or replication of their own."""
    env = settings_env(settings)
    for derived in ("EKTP_BROKER_NODES", "EKTP_TOPIC_REPLICATION", "EKTP_TOPIC_MIN_INSYNC"):
        env.pop(derived)
    return env


def status_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = ektp("broker", "status", "--json", env=env)
    return result.returncode, json.loads(result.stdout)


async def until(fact: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await fact():
        assert time.monotonic() < deadline, f"not within {timeout:g}s: {what}"
        await asyncio.sleep(0.3)


async def under_replicated(settings: Settings) -> int:
    return (await replication_health(settings)).under_replicated


async def replicas_and_min_insync(settings: Settings) -> tuple[dict[str, set[int]], dict[str, str]]:
    """For every registry topic, the replica counts of its partitions and its `min.insync.replicas`."""
    names = [spec.name for spec in REGISTRY]
    async with admin_client(settings) as client:
        described = await client.describe_topics(names)
        responses = await client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    replicas = {topic["topic"]: {len(partition["replicas"]) for partition in topic["partitions"]}
                for topic in described}
    min_insync = {}
    for response in responses:
        for resource in response.resources:
            _code, _message, _type, name, entries = resource[:5]
            min_insync[name] = {entry[0]: entry[1] for entry in entries}["min.insync.replicas"]
    return replicas, min_insync


async def produce(settings: Settings, values: list[bytes]) -> None:
    """Send with acks=all and idempotence, as every producer of the pipeline does (a desk, on this topic), and wait
    for every ack."""
    producer = AIOKafkaProducer(**client_options(settings, DESK_ROLE), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [await producer.send(ENROLLMENT_SUBMITTED.name, value, key=value) for value in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def consume(settings: Settings, count: int) -> set[bytes]:
    """Read `count` records of the topic in a fresh consumer group, and commit: the group needs a coordinator.

    As the admin: a group of the test's own, which no program's role may join.
    """
    consumer = AIOKafkaConsumer(ENROLLMENT_SUBMITTED.name, **client_options(settings, ADMIN_ROLE),
                                group_id=f"cluster-test-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    seen: set[bytes] = set()
    try:
        async with asyncio.timeout(90):
            while len(seen) < count:
                batches = await consumer.getmany(timeout_ms=1000)
                seen |= {record.value for records in batches.values() for record in records if record.value}
        await consumer.commit()
    finally:
        await consumer.stop()
    return seen


def test_a_three_node_cluster_goes_on_with_a_node_killed_and_heals_when_it_returns(run_dir: Path) -> None:
    """start --nodes 3 (remembered), topics with RF 3 and min ISR 2, acks=all writes; SIGKILL node 2: writes
    and reads go on, status shows the node down and partitions under-replicated; start brings it back in sync."""
    settings = broker_settings(run_dir, broker_nodes=NODES, broker_heap="256m")
    env = remembering_env(settings)
    launcher = BrokerLauncher(settings)
    try:
        started = ektp("broker", "start", "--nodes", str(NODES), env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"{NODES} nodes" in started.stdout
        again = ektp("broker", "start", env=env)  # no --nodes: the run dir remembers three
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already running" in again.stdout
        as_one = ektp("broker", "start", "--nodes", "1", env=env)
        assert as_one.returncode == 1
        assert "belongs to a cluster of 3 node(s), not 1" in " ".join((as_one.stderr + as_one.stdout).split())

        created = ektp("topics", "create", env=env)
        assert created.returncode == 0, created.stdout + created.stderr
        replicas, min_insync = asyncio.run(replicas_and_min_insync(settings))
        assert replicas == {spec.name: {NODES} for spec in REGISTRY}
        assert set(min_insync.values()) == {"2"}

        before = [f"before-{number}".encode() for number in range(30)]
        asyncio.run(produce(settings, before))
        assert asyncio.run(consume(settings, len(before))) == set(before)

        launcher.kill_node(2)
        asyncio.run(until(lambda: _positive(settings), 60, "the cluster notices node 2 is gone"))
        after = [f"after-{number}".encode() for number in range(30)]
        asyncio.run(produce(settings, after))
        assert asyncio.run(consume(settings, len(before) + len(after))) == set(before + after)
        code, degraded = status_json(env)
        assert code == 1
        assert [node["up"] for node in degraded["nodes"]] == [True, False, True]
        assert degraded["under_replicated"] > 0
        assert degraded["offline"] == 0

        restarted = ektp("broker", "start", env=env)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert "started" in restarted.stdout
        asyncio.run(until(lambda: _zero(settings), 60, "node 2 back in sync"))
        code, healed = status_json(env)
        assert code == 0, healed
        assert healed["up"] is True
        assert healed["under_replicated"] == 0
        assert len({node["pid"] for node in healed["nodes"]}) == NODES
        offsets = asyncio.run(_consumer_offsets_replicas(settings))
        assert offsets == {NODES}, "the broker's own topics are replicated like the registry's"

        stopped = ektp("broker", "stop", env=env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not launcher.status().running, "a broker node was left behind"
    finally:
        launcher.stop()
    assert not launcher.status().running


async def _positive(settings: Settings) -> bool:
    return await under_replicated(settings) > 0


async def _zero(settings: Settings) -> bool:
    return await under_replicated(settings) == 0


async def _consumer_offsets_replicas(settings: Settings) -> set[int]:
    async with admin_client(settings) as client:
        [offsets] = await client.describe_topics(["__consumer_offsets"])
    return {len(partition["replicas"]) for partition in offsets["partitions"]}
