"""The broker refuses what a role may not do: a real broker with SASL/SCRAM and the derived ACLs.

Every client here is an aiokafka client of the session's broker, as a program of that role would build one;
each refusal must be Kafka's own authorization or authentication error, never a timeout.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.fetch import FetchRequest

from pipeline.broker.authorization import enforced_acls
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import ADMIN_ROLE, client_options, connection_options
from pipeline.topology.acls import acls, markdown_table, may
from pipeline.topology.topics import (
    APPROVAL_DECIDED,
    ENROLLMENT_SUBMITTED,
    PICKUP_COLLECTED,
    PRINT_COMPLETED,
    PRINT_REQUESTED,
    REGISTRY,
)
from tests.support import ROOT

pytestmark = pytest.mark.integration

REFUSED = (TopicAuthorizationFailedError, GroupAuthorizationFailedError)


@pytest.fixture(autouse=True)
async def registry_topics(kafka: Settings) -> None:
    """The registry's topics exist, as on any running office: a refusal is then the ACLs', not a missing topic."""
    await ensure_topics(kafka, role=ADMIN_ROLE)




async def fetch_error(settings: Settings, role: str, topic: str) -> int:
    """The error code the broker answers a Fetch of `topic`'s first partition from `role` with: Kafka's own check."""
    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    connection = await create_conn(host, int(port), **connection_options(settings, role))
    try:
        response = await connection.send(FetchRequest(100, 1, 1 << 20, 0, [(topic, [(0, 0, 1 << 20)])]))
    finally:
        connection.close()
    [(_topic, [partition])] = [(entry[0], entry[1]) for entry in response.topics]
    return int(partition[1])


async def cannot_write(settings: Settings, role: str, topic: str) -> KafkaError:
    producer = AIOKafkaProducer(**client_options(settings, role), acks="all", enable_idempotence=True,
                                request_timeout_ms=10_000)
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError) as refused:
            await producer.send_and_wait(topic, b"forged", key=b"forged")
        return refused.value
    finally:
        await producer.stop()


async def test_a_client_without_credentials_is_refused(kafka: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


async def test_a_wrong_password_is_refused(kafka: Settings) -> None:
    options = client_options(kafka, "station") | {"sasl_plain_password": "not-the-password"}
    producer = AIOKafkaProducer(**options, request_timeout_ms=5_000)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_the_broker_enforces_exactly_the_derived_acls(kafka: Settings) -> None:
    enforced = await enforced_acls(kafka)
    assert enforced == acls(kafka.app_id)


async def test_the_readme_security_table_is_what_the_broker_enforces(kafka: Settings) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("<!-- acl-table:start -->\n", 1)[1].split("<!-- acl-table:end -->", 1)[0]
    assert kafka.app_id == Settings().app_id  # the README speaks of the default app id
    assert shown == markdown_table(await enforced_acls(kafka))


async def test_a_station_reads_print_jobs_and_nothing_personal(kafka: Settings) -> None:
    group = f"ektp-station-{uuid.uuid4().hex[:6]}"
    assert await fetch_error(kafka, "station", ENROLLMENT_SUBMITTED.name) == TopicAuthorizationFailedError.errno
    for topic in (APPROVAL_DECIDED.name, PICKUP_COLLECTED.name):
        await cannot_write(kafka, "station", topic)
    # What it may do, it does: it writes its results and reads its office's jobs in its own group.
    producer = AIOKafkaProducer(**client_options(kafka, "station"), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        written = await producer.send_and_wait(PRINT_COMPLETED.name, b"{}", key=b"probe")
    finally:
        await producer.stop()
    assert written.offset >= 0
    consumer = AIOKafkaConsumer(PRINT_REQUESTED.name, **client_options(kafka, "station"), group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=1_000)  # raises if refused
        assert consumer.assignment()
    finally:
        await consumer.stop()


async def test_a_station_cannot_join_another_group(kafka: Settings) -> None:
    """Not the workers' group: a station there would take the workers' partitions of its topic."""
    consumer = AIOKafkaConsumer(PRINT_REQUESTED.name, **client_options(kafka, "station"), group_id=kafka.app_id,
                                enable_auto_commit=False)
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await _start_and_read(consumer)
    finally:
        await consumer.stop()


async def _start_and_read(consumer: AIOKafkaConsumer) -> None:
    await consumer.start()
    await consumer.getmany(timeout_ms=10_000)


async def test_a_desk_reads_no_topic(kafka: Settings) -> None:
    """The desk only writes: every topic, personal data or not, answers its Fetch with an authorization error."""
    topics = [spec.name for spec in REGISTRY]
    assert not [topic for topic in topics if may(acls(kafka.app_id), "desk", "READ", topic)]
    refused = {topic: await fetch_error(kafka, "desk", topic) for topic in topics}
    assert refused == dict.fromkeys(topics, TopicAuthorizationFailedError.errno)
    # The same Fetch by the admin succeeds: the refusals are the ACLs', not broken topics.
    assert {topic: await fetch_error(kafka, ADMIN_ROLE, topic) for topic in topics} == dict.fromkeys(topics, 0)


async def test_the_admin_reads_what_the_roles_may_not(kafka: Settings) -> None:
    """The refusals are the ACLs', not a broken topic: the super user reads the same partition."""
    consumer = AIOKafkaConsumer(**client_options(kafka, ADMIN_ROLE), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(ENROLLMENT_SUBMITTED.name, 0)])
        await consumer.seek_to_end()
        assert await consumer.position(TopicPartition(ENROLLMENT_SUBMITTED.name, 0)) >= 0
    finally:
        await consumer.stop()
