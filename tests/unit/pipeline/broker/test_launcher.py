"""The broker launcher's configuration and its errors, without starting a JVM."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pipeline.broker import BrokerLauncher
from pipeline.broker.launcher import new_cluster_id
from pipeline.config import Settings
from pipeline.errors import PrerequisiteMissing


def test_server_properties_follow_the_settings(tmp_path: Path) -> None:
    """Ports, data folder and partitions in server.properties come from the settings."""
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093, topic_partitions=4)
    properties = dict(
        line.split("=", 1) for line in BrokerLauncher(settings).server_properties().splitlines()
    )
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert properties["log.dirs"] == str(tmp_path / "kafka" / "kraft")
    assert properties["process.roles"] == "broker,controller"
    assert properties["num.partitions"] == "4"
    assert properties["auto.create.topics.enable"] == "false"


def test_missing_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `java` on PATH, starting says what is missing instead of failing deep inside."""
    monkeypatch.setenv("PATH", str(tmp_path))
    launcher = BrokerLauncher(Settings(run_dir=tmp_path, broker_libs_dir=tmp_path / "libs"))
    (tmp_path / "libs").mkdir()
    launcher._stamp.write_text("ok\n")
    with pytest.raises(PrerequisiteMissing, match="`java` was not found"):
        launcher._java("kafka.Kafka")


def test_missing_maven_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `mvn` on PATH and no cached jars, fetching says Maven is needed."""
    monkeypatch.setenv("PATH", str(tmp_path))
    launcher = BrokerLauncher(Settings(run_dir=tmp_path, broker_libs_dir=tmp_path / "libs"))
    with pytest.raises(PrerequisiteMissing, match="Apache Maven"):
        launcher.fetch_jars()


def test_the_cli_prints_a_missing_prerequisite_without_a_stack_trace(tmp_path: Path) -> None:
    """`ektp broker start` without Java exits 1 with one clear line, not a traceback."""
    env = {**os.environ, "PATH": str(tmp_path), "EKTP_RUN_DIR": str(tmp_path / "run"),
           "EKTP_BROKER_LIBS_DIR": str(tmp_path / "libs"), "EKTP_KAFKA_PORT": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "broker", "start"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "was not found on PATH" in result.stderr


def test_status_of_a_broker_never_started_is_down(tmp_path: Path) -> None:
    """A data folder with no broker process is reported down, and no stale pid is believed."""
    launcher = BrokerLauncher(Settings(run_dir=tmp_path))
    launcher.data_dir.mkdir(parents=True)
    launcher.pid_file.write_text(f"{os.getpid()}\n")  # a live pid that is not a broker
    status = launcher.status()
    assert not status.running
    assert not status.up


def test_a_cluster_id_never_starts_with_a_dash_the_storage_tool_would_take_for_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leading_dash = uuid.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "=="))
    plain = uuid.UUID(int=1)
    draws = iter([leading_dash, plain])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))

    cluster_id = new_cluster_id()

    assert cluster_id == base64.urlsafe_b64encode(plain.bytes).decode().rstrip("=")
    assert len(cluster_id) == 22
