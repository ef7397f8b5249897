"""Settings come from `EKTP_` variables, once, and derive the addresses the clients use."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest

from pipeline.config import CLUSTER_FILE, Settings


def test_environment_variables_with_the_ektp_prefix_set_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`EKTP_KAFKA_PORT` and friends reach the settings object."""
    monkeypatch.setenv("EKTP_RUN_DIR", str(tmp_path))  # no cluster remembered there
    monkeypatch.setenv("EKTP_KAFKA_PORT", "19092")
    monkeypatch.setenv("EKTP_BROKER_HEAP", "1g")
    settings = Settings()
    assert settings.kafka_port == 19092
    assert settings.broker_heap == "1g"
    assert settings.bootstrap_servers == "127.0.0.1:19092"


def test_an_explicit_bootstrap_list_wins_and_becomes_faust_urls() -> None:
    """A cluster's bootstrap list is used as given, and faust gets one kafka:// URL per server."""
    settings = Settings(kafka_bootstrap="k1:9092,k2:9092")
    assert settings.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.kafka_url == "kafka://k1:9092;kafka://k2:9092"


def test_settings_are_frozen() -> None:
    """Settings are built once and passed down; nobody changes them on the way."""
    settings = Settings()
    with pytest.raises(pydantic.ValidationError):
        settings.kafka_port = 1  # type: ignore[misc]


def test_the_citizen_key_secret_is_never_printed() -> None:
    """The HMAC secret is a SecretStr: its repr and dump hide it."""
    settings = Settings(citizen_key_secret="very-secret-value")
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in str(settings.model_dump())


def test_broker_folders_default_under_the_run_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without an explicit data folder the broker keeps its data in `<run_dir>/kafka`."""
    settings = Settings(run_dir=tmp_path)
    assert settings.broker_data_path == tmp_path / "kafka"


def test_one_node_keeps_one_copy_of_each_topic(tmp_path: Path) -> None:
    """A single broker: one bootstrap address, replication 1, `min.insync.replicas` 1."""
    settings = Settings(run_dir=tmp_path)
    assert settings.broker_nodes == 1
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert (settings.topic_replication, settings.topic_min_insync) == (1, 1)
    assert settings.broker_controller_ports == [9193]


def test_a_cluster_of_three_gives_every_client_every_nodes_address_and_three_copies(tmp_path: Path) -> None:
    """Three nodes: clients bootstrap from all three ports, so any one of them may be down; RF 3, min ISR 2."""
    settings = Settings(run_dir=tmp_path, broker_nodes=3, kafka_port=19092)
    assert settings.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
    assert settings.kafka_url == "kafka://127.0.0.1:19092;kafka://127.0.0.1:19093;kafka://127.0.0.1:19094"
    assert settings.broker_controller_ports == [9193, 9194, 9195]
    assert not set(settings.broker_client_ports) & set(settings.broker_controller_ports)
    assert (settings.topic_replication, settings.topic_min_insync) == (3, 2)


def test_the_node_count_the_run_dir_remembers_is_used_unless_the_environment_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `ektp broker start --nodes 3`, later commands on that run dir see three nodes; a variable wins."""
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / CLUSTER_FILE).write_text(json.dumps({"nodes": 3, "cluster_id": "x"}))
    monkeypatch.setenv("EKTP_RUN_DIR", str(tmp_path))
    remembered = Settings()
    assert remembered.broker_nodes == 3
    assert remembered.bootstrap_servers.count(",") == 2
    assert (remembered.topic_replication, remembered.topic_min_insync) == (3, 2)

    monkeypatch.setenv("EKTP_TOPIC_REPLICATION", "2")
    assert (Settings().topic_replication, Settings().topic_min_insync) == (2, 1)
    monkeypatch.setenv("EKTP_BROKER_NODES", "1")
    assert Settings().bootstrap_servers == "127.0.0.1:9092"


def test_the_remembered_count_follows_the_broker_data_folder(tmp_path: Path) -> None:
    """With `EKTP_BROKER_DATA_DIR` set, the count is read from that folder, not from `<run_dir>/kafka`."""
    data = tmp_path / "elsewhere"
    data.mkdir()
    (data / CLUSTER_FILE).write_text(json.dumps({"nodes": 3}))
    assert Settings(run_dir=tmp_path / "run", broker_data_dir=data).broker_nodes == 3
    assert Settings(run_dir=tmp_path / "run").broker_nodes == 1
