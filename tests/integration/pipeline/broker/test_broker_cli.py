"""`ektp broker start|stop|status` as a person runs them: data survives a restart; status tells the truth."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import NewTopic

from pipeline.broker import BrokerLauncher
from pipeline.config import Settings
from pipeline.kafka.admin import admin_client
from pipeline.kafka.security import ADMIN_ROLE, client_options
from tests.support.env import broker_settings, settings_env

pytestmark = pytest.mark.integration


def ektp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )


# A topic of the test's own, outside the registry: no program's role may touch it, so the test is the admin.
async def produce(settings: Settings, topic: str, value: bytes) -> None:
    async with admin_client(settings) as client:
        await client.create_topics([NewTopic(topic, 1, 1)])
    producer = AIOKafkaProducer(**client_options(settings, ADMIN_ROLE), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def consume_all(settings: Settings, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, **client_options(settings, ADMIN_ROLE), auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=15_000)
    finally:
        await consumer.stop()
    return [record.value for records in batches.values() for record in records]


def test_a_message_survives_a_broker_restart_and_status_tells_the_truth(run_dir: Path) -> None:
    """start, produce, stop (status: down, exit 1), start (status: up, exit 0): the message is still there."""
    settings = broker_settings(run_dir)
    env = settings_env(settings)
    launcher = BrokerLauncher(settings)
    try:
        down_before = ektp("broker", "status", env=env)
        assert down_before.returncode == 1, down_before.stdout + down_before.stderr
        assert "down" in down_before.stdout

        started = ektp("broker", "start", env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        assert "started" in started.stdout
        again = ektp("broker", "start", env=env)
        assert again.returncode == 0
        assert "already running" in again.stdout
        assert ektp("broker", "status", env=env).returncode == 0

        asyncio.run(produce(settings, "restart.proof", b"recorded before the strike"))

        stopped = ektp("broker", "stop", env=env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not launcher.status().running, "a broker process was left behind"
        assert ektp("broker", "status", env=env).returncode == 1

        assert ektp("broker", "start", env=env).returncode == 0
        status = ektp("broker", "status", "--json", env=env)
        assert status.returncode == 0
        assert '"up": true' in status.stdout
        assert asyncio.run(consume_all(settings, "restart.proof")) == [
            b"recorded before the strike"
        ]
        assert "Kafka Server started" in ektp("broker", "logs", "-n", "400", env=env).stdout
    finally:
        launcher.stop()
    assert not launcher.status().running
