"""Talking to Kafka as an administrator: is the broker answering, creating the registry's topics, their replicas.

Every function connects as a role (`pipeline.kafka.security`): `admin` unless the caller names another, as the
worker does to create its topics and a station or the dashboard to describe the ones they read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.metadata import MetadataRequest

from pipeline.config import Settings
from pipeline.kafka.security import ADMIN_ROLE, client_options, connection_options
from pipeline.topology.topics import REGISTRY, TopicSpec


@contextlib.asynccontextmanager
async def admin_client(
    settings: Settings, *, role: str = ADMIN_ROLE, bootstrap_servers: str | None = None, timeout: float = 10.0
) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client of `role`, started and closed; on `bootstrap_servers` when given, else the settings'."""
    client = AIOKafkaAdminClient(
        **client_options(settings, role, bootstrap_servers=bootstrap_servers),
        request_timeout_ms=int(timeout * 1000), client_id="ektp-admin",
    )
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def broker_answers(
    settings: Settings, bootstrap_servers: str | None = None, *, role: str = ADMIN_ROLE, timeout: float = 5.0
) -> bool:
    """True when a broker of `bootstrap_servers` (any one of them; default the settings') answers a metadata
    request of `role` within `timeout` s.

    A broker that refuses the role's credentials does not answer; credentials missing here raise
    `CredentialsMissing`.
    """
    options = connection_options(settings, role)
    for server in _servers(bootstrap_servers or settings.bootstrap_servers):
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            await _metadata_of(server, [], options, timeout=timeout)
            return True
    return False


def _servers(bootstrap_servers: str) -> list[str]:
    return [server.strip() for server in bootstrap_servers.split(",") if server.strip()]


async def _metadata_of(
    server: str, topics: list[str] | None, options: dict[str, Any], *, timeout: float
) -> dict[str, Any]:
    """The metadata the broker at `server` itself gives (`topics` None: all of them), asked with the connection
    `options` of a role (`connection_options`).

    Asked on a connection of its own: an admin client would ask whichever node the metadata names, a dead one
    among them while a node of a cluster is down.
    """
    host, _, port = server.rpartition(":")
    async with asyncio.timeout(timeout):
        # Nothing listens: say so at once, without a client that logs every refused connection.
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.close()
        await writer.wait_closed()
        connection = await create_conn(
            host, int(port), client_id="ektp-admin", request_timeout_ms=int(timeout * 1000), **options
        )
        try:
            response = await connection.send(MetadataRequest(topics))
        finally:
            connection.close()
    answer: dict[str, Any] = response.to_object()
    return answer


async def partition_ids(
    settings: Settings, topic: str, *, role: str = ADMIN_ROLE, timeout: float = 10.0
) -> list[int]:
    """The partition numbers of `topic`, sorted; empty when it does not exist (or `role` may not describe it)."""
    async with admin_client(settings, role=role, timeout=timeout) as client:
        [described] = await client.describe_topics([topic])
    if described["error_code"] != 0:
        return []
    return sorted(partition["partition"] for partition in described["partitions"])


@dataclass(frozen=True)
class TopicOutcome:
    """What `ensure_topics` found or did for one topic."""

    name: str
    outcome: Literal["created", "exists", "mismatch"]
    partitions: int
    detail: str = ""


async def ensure_topics(
    settings: Settings, specs: Iterable[TopicSpec] = REGISTRY, *, role: str = ADMIN_ROLE, timeout: float = 30.0
) -> list[TopicOutcome]:
    """Create every missing topic of `specs`, as `role` (which needs CREATE on them); idempotent.

    An existing topic is left alone: adding partitions would move keys to other partitions and break the
    per-citizen order the pipeline promises, so a partition count that differs is reported, not changed. So is
    a topic with fewer replicas than `topic_replication` (one created before the broker grew to a cluster):
    the cluster would not keep it through the loss of a node, and only a reassignment of its partitions, which
    moves data between nodes, can add them.
    """
    specs = list(specs)
    wanted = {spec.name: spec.partition_count(settings.topic_partitions) for spec in specs}
    async with asyncio.timeout(timeout), admin_client(settings, role=role, timeout=timeout) as client:
        existing = set(await client.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        created: set[str] = set()
        for spec in missing:
            new_topic = NewTopic(
                name=spec.name,
                num_partitions=wanted[spec.name],
                replication_factor=settings.topic_replication,
                # With acks=all a write then waits for this many replicas, and is refused below it.
                topic_configs={**spec.configs(), "min.insync.replicas": str(settings.topic_min_insync)},
            )
            try:
                response = await client.create_topics([new_topic])
            except TopicAlreadyExistsError:
                continue  # another worker created it meanwhile: that is the idempotent outcome
            _raise_topic_errors(response)
            created.add(spec.name)
        actual = await _layouts(client, [spec.name for spec in specs])
    outcomes = []
    for spec in specs:
        count, replicas = actual.get(spec.name, (0, 0))
        if spec.name in created:
            outcomes.append(TopicOutcome(spec.name, "created", count))
        elif count != wanted[spec.name]:
            detail = f"has {count} partitions, registry wants {wanted[spec.name]}; left unchanged"
            outcomes.append(TopicOutcome(spec.name, "mismatch", count, detail))
        elif replicas < settings.topic_replication:
            detail = (f"has {replicas} replica{'s' if replicas != 1 else ''} of a partition, settings want "
                      f"{settings.topic_replication} (EKTP_TOPIC_REPLICATION); left unchanged: reassign its "
                      "partitions (kafka-reassign-partitions.sh) for the cluster to keep it through a node's loss")
            outcomes.append(TopicOutcome(spec.name, "mismatch", count, detail))
        else:
            outcomes.append(TopicOutcome(spec.name, "exists", count))
    return outcomes


def _raise_topic_errors(response: object) -> None:
    for _name, code, *rest in getattr(response, "topic_errors", []):
        if code == TopicAuthorizationFailedError.errno:
            raise TopicAuthorizationFailedError(
                f"topic {_name} is missing, and this role may not create it: the admin creates the registry's "
                "topics (`ektp topics create`, `ektp up`)"
            )
        if code not in (0, TopicAlreadyExistsError.errno):
            message = rest[0] if rest else ""
            raise KafkaConnectionError(f"creating topic {_name} failed: error {code} {message}")


async def _layouts(client: AIOKafkaAdminClient, names: list[str]) -> dict[str, tuple[int, int]]:
    """Each topic's partition count and the fewest replicas any of its partitions has."""
    # Metadata of a just-created topic can lag a moment behind the controller; ask until every topic shows.
    for _attempt in range(50):
        described = await client.describe_topics(names)
        layouts = {item["topic"]: (len(item["partitions"]),
                                   min((len(partition["replicas"]) for partition in item["partitions"]), default=0))
                   for item in described if item["error_code"] == 0}
        if all(layouts.get(name, (0, 0))[0] for name in names):
            return layouts
        await asyncio.sleep(0.1)
    return layouts


@dataclass(frozen=True)
class ReplicationHealth:
    """How the partitions of every topic (the broker's own included) are replicated right now."""

    partitions: int
    under_replicated: int  # fewer in-sync replicas than replicas: a node is down or catching up
    offline: int  # no leader: neither readable nor writable


async def replication_health(
    settings: Settings, bootstrap_servers: str | None = None, *, role: str = ADMIN_ROLE, timeout: float = 10.0
) -> ReplicationHealth:
    """Count the under-replicated and offline partitions, from the metadata of the first node of
    `bootstrap_servers` (default the settings') that answers.

    The metadata lists only the topics `role` may describe: `admin` sees every one.
    """
    servers = bootstrap_servers or settings.bootstrap_servers
    options = connection_options(settings, role)
    error: Exception = KafkaConnectionError(f"no broker of {servers} answers")
    for server in _servers(servers):
        try:
            metadata = await _metadata_of(server, None, options, timeout=timeout)
        except (KafkaError, OSError, TimeoutError) as failure:
            error = failure
            continue
        partitions = [partition for topic in metadata["topics"] for partition in topic["partitions"]]
        return ReplicationHealth(
            partitions=len(partitions),
            under_replicated=sum(1 for partition in partitions if len(partition["isr"]) < len(partition["replicas"])),
            offline=sum(1 for partition in partitions if partition["leader"] < 0),
        )
    raise error
