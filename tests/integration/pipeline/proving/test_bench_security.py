"""The security phase of `ektp bench` on a real comparison broker: three modes that relay every record, and
listeners that are what they say (a client without SASL gets in on OPEN only, one without TLS not on SECURE)."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from pipeline.config import Settings
from pipeline.kafka.admin import admin_client
from pipeline.proving.bench.relay import RELAY_TOPIC_PREFIX
from pipeline.proving.bench.security import CONNECTS, MODES, ROUNDS, ComparisonBroker, bench_security

pytestmark = pytest.mark.integration

COUNT = 300
REFUSED_WITHIN_MS = 5000  # a refusal is the broker closing the connection, never this timeout


def payloads(count: int) -> list[tuple[bytes | None, bytes]]:
    return [(f"NIK-{number:04d}".encode(), b'{"synthetic": true, "n": %d}' % number) for number in range(count)]


def java_processes_under(folder: Path) -> list[int]:
    """Pids of the processes whose command line names `folder`: a comparison broker left running."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(folder).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


async def test_the_three_modes_relay_every_record_and_the_comparison_broker_is_gone_after(
    kafka: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the comparison broker's folder is made

    bench = await bench_security(kafka, payloads(COUNT))

    for mode in MODES:
        figures = bench.modes[mode]
        assert [relay.count for relay in figures.relays] == [COUNT] * len(ROUNDS), mode  # each run saw every record
        assert figures.relay_rps > 0, mode
        assert figures.client_cpu_ms_per_1000 > 0, mode
        assert len(figures.connects) == CONNECTS, mode
        assert 0 < figures.connect_ms(50) <= figures.connect_ms(95), mode
    result = bench.as_json()
    assert result["scram_relay_cost"] > 0
    assert result["tls_relay_cost"] > 0
    assert not list(tmp_path.glob("ektp-security-*")), "the comparison broker's folder is removed"
    assert not java_processes_under(tmp_path), "the comparison broker is stopped"


async def connects(**options: object) -> bool:
    """Whether a producer with `options` starts (bootstrap and the connection's handshakes) and stops.

    A refusal must be the broker closing the connection at once, not the client giving up after its timeout.
    """
    producer = AIOKafkaProducer(**options, request_timeout_ms=REFUSED_WITHIN_MS, client_id="security-probe")
    began = time.monotonic()
    try:
        await producer.start()
    except KafkaConnectionError:
        assert time.monotonic() - began < REFUSED_WITHIN_MS / 2000, "refused by a timeout, not by the broker"
        return False
    finally:
        await producer.stop()
    return True


async def test_a_client_without_sasl_gets_in_on_open_only_and_one_without_tls_not_on_secure(kafka: Settings) -> None:
    """The comparison is real: CLIENT asks for SCRAM, SECURE for TLS too, OPEN for neither."""
    async with ComparisonBroker(kafka) as broker:
        plain = broker.options("plaintext")
        assert await connects(**plain)
        assert not await connects(**{**plain, "bootstrap_servers": broker.bootstrap("scram")})
        assert not await connects(**{**plain, "bootstrap_servers": broker.bootstrap("scram_tls")})
        scram = broker.options("scram")
        assert await connects(**scram)
        assert not await connects(**{**scram, "bootstrap_servers": broker.bootstrap("scram_tls")})
        assert await connects(**broker.options("scram_tls"))

        # OPEN's anonymous clients may use the relay's topics and no other.
        other, relayed = f"bench.other.{uuid.uuid4().hex[:8]}", f"{RELAY_TOPIC_PREFIX}{uuid.uuid4().hex[:8]}"
        async with admin_client(broker.settings) as admin:
            await admin.create_topics([NewTopic(other, 1, 1), NewTopic(relayed, 1, 1)])
        producer = AIOKafkaProducer(**plain, request_timeout_ms=REFUSED_WITHIN_MS, client_id="security-probe")
        await producer.start()
        try:
            await producer.send_and_wait(relayed, b"synthetic")
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(other, b"synthetic")
        finally:
            await producer.stop()
