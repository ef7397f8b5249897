"""docker-compose.yml describes a working system; no Docker engine runs here, so its structure is checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def test_kafka_is_apache_kafka_4_1_in_kraft_mode(compose: dict[str, Any]) -> None:
    """The broker is `apache/kafka` 4.1, combined broker and controller, with a health check."""
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.1")
    env = env_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "9092:9092" in kafka["ports"]
    assert "healthcheck" in kafka
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_containers_and_host_reach_kafka_through_advertised_listeners(compose: dict[str, Any]) -> None:
    """Every bootstrap address a service uses is one the broker advertises."""
    kafka_env = env_of(compose["services"]["kafka"])
    advertised = {
        listener.split("://", 1)[1] for listener in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    }
    assert "localhost:9092" in advertised
    bootstraps = [
        env_of(service).get("EKTP_KAFKA_BOOTSTRAP")
        or env_of(service).get("KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS")
        for name, service in compose["services"].items()
        if name != "kafka"
    ]
    assert bootstraps
    assert all(bootstrap in advertised for bootstrap in bootstraps), bootstraps


def test_kafka_ui_browses_the_broker(compose: dict[str, Any]) -> None:
    """kafka-ui (kafbat) is there for raw topic browsing, after the broker is healthy."""
    ui = compose["services"]["kafka-ui"]
    assert ui["image"].startswith("kafbat/kafka-ui:")
    assert "8080:8080" in ui["ports"]
    assert ui["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_pipeline_services_are_built_from_the_one_dockerfile(compose: dict[str, Any]) -> None:
    """Every pipeline process is built from the repository's Dockerfile and runs an `ektp` command."""
    pipeline_services = {
        name: service for name, service in compose["services"].items() if "build" in service
    }
    assert "topics" in pipeline_services
    assert (ROOT / "Dockerfile").is_file()
    assert "ENTRYPOINT [\"ektp\"]" in (ROOT / "Dockerfile").read_text()
    for name, service in pipeline_services.items():
        assert service["build"] == ".", name
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy", name


def test_every_ektp_variable_in_compose_is_a_real_setting(compose: dict[str, Any]) -> None:
    """A misspelt `EKTP_` variable would be silently ignored; each one must name a setting."""
    known = {f"EKTP_{name.upper()}" for name in Settings.model_fields}
    used = {
        key for service in compose["services"].values() for key in env_of(service) if key.startswith("EKTP_")
    }
    assert used
    assert used <= known, used - known


def test_topics_service_creates_the_registry(compose: dict[str, Any]) -> None:
    """The one-shot `topics` service runs `ektp topics create` before any pipeline process needs them."""
    assert compose["services"]["topics"]["command"] == ["topics", "create"]
