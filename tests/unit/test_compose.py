"""docker-compose.yml, the Dockerfile and deploy/ describe a working system; no Docker engine runs here, so their
structure is checked: services, ports, settings, metrics scraped, and the Grafana dashboard's queries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from cryptography import x509

from central_sim.config import CentralSettings
from pipeline.broker import BrokerLauncher
from pipeline.config import DEV_ADMIN_TOKEN, DEV_CITIZEN_KEY_SECRET, Settings
from pipeline.dashboard.security import allowed_hosts
from pipeline.kafka.security import CONTROLLER_ROLE, all_roles
from tests.support import ROOT

PIPELINE_IMAGE = "ektp-pipeline:local"
DASHBOARD_JSON = ROOT / "deploy" / "grafana" / "dashboards" / "ektp-pipeline.json"

METRIC_SOURCES = ("pipeline/worker/metrics.py", "pipeline/station/metrics.py", "central_sim/metrics.py",
                  "pipeline/dashboard/metrics.py")
METRIC_DECLARATION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|Enum|Info)(?:MetricFamily)?\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\""
)
METRIC_IN_QUERY = re.compile(r"\b(?:ektp|central_sim)_[a-z0-9_]+\b")
DEPENDENCY_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTARTING = {"always", "unless-stopped", "on-failure"}
# The broker's and kafka-ui's host ports are published on every interface; the tests of those services pin them.
PUBLISHED_ON_EVERY_INTERFACE = {"kafka", "kafka-ui"}
CLUSTER_NODES = ("kafka-1", "kafka-2", "kafka-3")
KAFKA_NODES = ("kafka", *CLUSTER_NODES)
# The one-shot service that makes the Kafka passwords and TLS files, the volume it keeps them in, and the one-shots.
SECRETS = "secrets"
SECRETS_VOLUME = "ektp-secrets"
ONE_SHOTS = {SECRETS, "topics", "acls"}
# What compose tells every Kafka node, as the project's own broker has it (pipeline/broker/launcher.py).
LAUNCHER_SECURITY = (
    "authorizer.class.name", "allow.everyone.if.no.acl.found", "super.users", "sasl.enabled.mechanisms",
    "sasl.mechanism.inter.broker.protocol", "sasl.mechanism.controller.protocol",
    "listener.name.controller.sasl.enabled.mechanisms", "controller.listener.names",
)
# `${NAME:-default}`: a value the host's environment may replace, and what it is otherwise.
INTERPOLATED = re.compile(r"^\$\{(\w+):-(.*)\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def grafana_dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD_JSON.read_text())
    return loaded


@pytest.fixture(scope="module")
def provisioned_datasource() -> dict[str, Any]:
    folder = ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
    datasources = [
        source for path in sorted(folder.glob("*.yml")) for source in yaml.safe_load(path.read_text())["datasources"]
    ]
    assert len(datasources) == 1, datasources
    found: dict[str, Any] = datasources[0]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def default_of(value: str) -> str:
    """What compose makes of `${NAME:-default}` when the host does not set NAME; any other value as it is."""
    interpolated = INTERPOLATED.match(value)
    return interpolated[2] if interpolated else value


def runs_central_sim(service: dict[str, Any]) -> bool:
    return "central_sim" in (service.get("entrypoint") or [])


def option_of(service: dict[str, Any], option: str) -> str:
    command: list[str] = service["command"]
    return command[command.index(option) + 1]


def published(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Container port -> (host address, host port) of each `ports` entry."""
    mapping = {}
    for entry in service.get("ports") or []:
        *host, container = str(entry).split(":")
        address, host_port = (host[0], host[1]) if len(host) == 2 else ("0.0.0.0", host[0])
        mapping[int(container)] = (address, int(host_port))
    return mapping


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (a named volume, or a path relative to the repository) of each mount."""
    found = {}
    for entry in service.get("volumes") or []:
        source, target, *_mode = str(entry).split(":")
        found[target] = source
    return found


def is_bind(source: str) -> bool:
    return source.startswith(("./", "/"))


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """The repository path a bind mount shows at `container_path` (or under it)."""
    wanted = PurePosixPath(container_path)
    for target, source in mounts(service).items():
        if is_bind(source) and (wanted == PurePosixPath(target) or PurePosixPath(target) in wanted.parents):
            return ROOT / source / wanted.relative_to(target)
    raise AssertionError(f"{container_path} is not bind-mounted from the repository")


def volume_holding(service: dict[str, Any], container_path: str) -> str | None:
    """The named volume that holds `container_path`, if any."""
    wanted = PurePosixPath(container_path)
    for target, source in mounts(service).items():
        if not is_bind(source) and (wanted == PurePosixPath(target) or PurePosixPath(target) in wanted.parents):
            return source
    return None


def metrics_ports(compose: dict[str, Any]) -> dict[str, int]:
    """Each service that serves Prometheus /metrics, and the port compose tells it to serve it on."""
    services = compose["services"]
    return {
        "worker": int(env_of(services["worker"])["EKTP_WORKER_METRICS_PORT"]),
        "station": int(option_of(services["station"], "--metrics-port")),
        "central-sim": int(env_of(services["central-sim"])["EKTP_CENTRAL_ADMIN_PORT"]),
        "dashboard": int(env_of(services["dashboard"])["EKTP_DASHBOARD_METRICS_PORT"]),
    }


def exposed_series(kind: str, name: str) -> set[str]:
    """The series names Prometheus sees for one declared metric (counters end in `_total`)."""
    if kind == "Counter":
        return {name.removesuffix("_total") + "_total"}
    if kind == "Histogram":
        return {f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count")}
    if kind == "Summary":
        return {name, f"{name}_sum", f"{name}_count"}
    if kind == "Info":
        return {f"{name}_info"}
    return {name}


def declared_metrics(source: str) -> list[set[str]]:
    """The series names of each metric declared in `source`, a file of the repository."""
    return [exposed_series(kind, name) for kind, name in METRIC_DECLARATION.findall((ROOT / source).read_text())]


def exported_metric_names() -> set[str]:
    """Every series name the code's metrics expose."""
    return {name for source in METRIC_SOURCES for series in declared_metrics(source) for name in series}


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels that draw something (rows only group them), collapsed rows included."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            panels.extend(panel.get("panels") or [])
        else:
            panels.append(panel)
    return panels


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard_panels(dashboard) for target in panel["targets"]]


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
    bootstraps = {
        name: default_of(env_of(service).get("EKTP_KAFKA_BOOTSTRAP")
                         or env_of(service).get("KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS") or "")
        for name, service in compose["services"].items()
        if name != "kafka" and name not in CLUSTER_NODES
    }
    # central-sim, Prometheus and Grafana never talk to Kafka; every other service must.
    clients = {name: bootstrap for name, bootstrap in bootstraps.items() if bootstrap}
    assert {"kafka-ui", "topics", "worker", "station", "dashboard"} <= clients.keys()
    assert all(bootstrap in advertised for bootstrap in clients.values()), clients


def test_kafka_ui_browses_the_broker(compose: dict[str, Any]) -> None:
    """kafka-ui (kafbat) is there for raw topic browsing, after the broker is healthy."""
    ui = compose["services"]["kafka-ui"]
    assert ui["image"].startswith("kafbat/kafka-ui:")
    assert "127.0.0.1:8080:8080" in ui["ports"]  # it browses every topic as admin: this host only
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
        if name == SECRETS:  # the brokers wait for it
            assert "depends_on" not in service
            continue
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy", name


def test_every_ektp_variable_in_compose_is_a_real_setting(compose: dict[str, Any]) -> None:
    """A misspelt `EKTP_` variable would be silently ignored; each names a field of the settings its process reads."""
    # central-sim reads only its own settings (`central_sim.config`); every other process the pipeline's.
    pipeline_known = {f"EKTP_{name.upper()}" for name in Settings.model_fields}
    central_known = {f"EKTP_CENTRAL_{name.upper()}" for name in CentralSettings.model_fields}
    checked = 0
    for name, service in compose["services"].items():
        used = {key for key in env_of(service) if key.startswith("EKTP_")}
        known = central_known if runs_central_sim(service) else pipeline_known
        assert used <= known, (name, used - known)
        checked += len(used)
    assert checked
    assert any(runs_central_sim(service) for service in compose["services"].values())


def test_topics_service_creates_the_registry(compose: dict[str, Any]) -> None:
    """The one-shot `topics` service runs `ektp topics create` before any pipeline process needs them."""
    assert compose["services"]["topics"]["command"] == ["topics", "create"]


def test_the_whole_system_is_in_compose(compose: dict[str, Any]) -> None:
    """Secrets, broker, kafka-ui, topics, ACLs, central-sim, worker, station, dashboard, Prometheus and Grafana are all
    services; the three nodes of the cluster only with its profile."""
    by_default = {name for name, service in compose["services"].items() if not service.get("profiles")}
    assert by_default == {
        "secrets", "kafka", "kafka-ui", "topics", "acls", "central-sim", "worker", "station", "dashboard", "prometheus",
        "grafana",
    }
    assert set(compose["services"]) - by_default == set(CLUSTER_NODES)


def test_the_cluster_profile_is_three_kraft_nodes_voting_together(compose: dict[str, Any]) -> None:
    """kafka-1..3 (profile `cluster`): the broker's image, each broker and controller with its own id, listeners,
    volume and health check, one cluster id, and the quorum's voters the three of them."""
    services = compose["services"]
    nodes = [services[name] for name in CLUSTER_NODES]
    envs = [env_of(node) for node in nodes]
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in envs}
    assert voters == {"1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert len({env["CLUSTER_ID"] for env in envs}) == 1
    assert [env["KAFKA_NODE_ID"] for env in envs] == ["1", "2", "3"]
    host_ports = set()
    for name, node, env in zip(CLUSTER_NODES, nodes, envs, strict=True):
        assert node["profiles"] == ["cluster"], name
        assert node["image"] == services["kafka"]["image"], name
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
        assert f"INTERNAL://{name}:29092" in advertised, name
        [external] = [port for port in published(node) if f"EXTERNAL://localhost:{port}" in advertised]
        assert published(node)[external] == ("127.0.0.1", external), name  # the host reaches what it is told
        host_ports.add(external)
        assert f"--bootstrap-server localhost:{external}" in " ".join(node["healthcheck"]["test"]), name
        assert volume_holding(node, env["KAFKA_LOG_DIRS"]), name
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", name
    assert len(host_ports) == 3
    assert len({volume_holding(node, "/var/lib/kafka/data") for node in nodes}) == 3


def test_the_cluster_keeps_three_copies_and_writes_once_two_hold_them(compose: dict[str, Any]) -> None:
    """Every topic, the broker's own too, has 3 replicas and min.insync.replicas 2: a node may be down."""
    for name in CLUSTER_NODES:
        env = env_of(compose["services"][name])
        for key in ("KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"):
            assert env[key] == "3", (name, key)
        for key in ("KAFKA_MIN_INSYNC_REPLICAS", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
                    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR"):
            assert env[key] == "2", (name, key)


def test_the_pipeline_is_pointed_at_the_cluster_from_the_host(compose: dict[str, Any]) -> None:
    """One broker unless the host says KAFKA_BOOTSTRAP and KAFKA_NODES; the topics wait for the cluster when it runs,
    and every other pipeline process waits for the topics."""
    services = compose["services"]
    for name in ("topics", "worker", "station", "dashboard"):
        env = env_of(services[name])
        assert env["EKTP_KAFKA_BOOTSTRAP"] == "${KAFKA_BOOTSTRAP:-kafka:29092}", name
        assert env["EKTP_BROKER_NODES"] == "${KAFKA_NODES:-1}", name
    cluster_bootstrap = ",".join(f"{name}:29092" for name in CLUSTER_NODES)
    for name in CLUSTER_NODES:
        assert f"INTERNAL://{name}:29092" in env_of(services[name])["KAFKA_ADVERTISED_LISTENERS"]
        needed = services["topics"]["depends_on"][name]
        assert needed == {"condition": "service_healthy", "required": False}
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert cluster_bootstrap in (ROOT / "docker-compose.yml").read_text()  # the documented command names them


def test_pipeline_services_share_one_image_and_others_pin_a_version(compose: dict[str, Any]) -> None:
    """Services built from the Dockerfile share one image name; every pulled image names an exact version."""
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["image"] == PIPELINE_IMAGE, name
        else:
            repository, _, tag = service["image"].rpartition(":")
            assert repository, name
            assert tag not in {"", "latest"}, name
            assert re.search(r"\d", tag), name


def test_each_process_runs_its_command(compose: dict[str, Any]) -> None:
    """worker, station TPI-01 and dashboard run their `ektp` command; central-sim runs `python -m central_sim`."""
    services = compose["services"]
    assert services["worker"]["command"] == ["worker"]
    assert services["station"]["command"][:2] == ["station", "run"]
    assert option_of(services["station"], "--station") == "TPI-01"
    assert services["dashboard"]["command"] == ["dashboard"]
    assert services["central-sim"]["entrypoint"] == ["python", "-m", "central_sim"]


def test_listeners_answer_other_containers(compose: dict[str, Any]) -> None:
    """Inside a container every HTTP listener binds 0.0.0.0, or Prometheus and published ports could not reach it."""
    services = compose["services"]
    assert env_of(services["central-sim"])["EKTP_CENTRAL_HOST"] == "0.0.0.0"
    for name in ("worker", "station"):
        assert env_of(services[name])["EKTP_METRICS_HOST"] == "0.0.0.0", name
    assert env_of(services["dashboard"])["EKTP_DASHBOARD_HOST"] == "0.0.0.0"


def test_published_ports_are_the_ports_the_processes_listen_on(compose: dict[str, Any]) -> None:
    """Each container port compose publishes is the one the process is configured with, reachable from the host."""
    services = compose["services"]
    central = env_of(services["central-sim"])
    listening = {
        "central-sim": {int(central["EKTP_CENTRAL_PORT"]), int(central["EKTP_CENTRAL_ADMIN_PORT"])},
        "worker": set(),  # scaled to any number: Prometheus finds them by name, the host does not need them
        "station": {int(option_of(services["station"], "--metrics-port"))},
        "dashboard": {int(env_of(services["dashboard"])["EKTP_DASHBOARD_PORT"])},
        "prometheus": {9090},
        "grafana": {3000},
    }
    for name, ports in listening.items():
        assert set(published(services[name])) == ports, name
    assert listening["dashboard"] == {8700}
    host_ports = [host_port for service in services.values() for _address, host_port in published(service).values()]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_new_host_ports_bind_only_the_loopback(compose: dict[str, Any]) -> None:
    """Published ports of the pipeline, Prometheus and Grafana are on 127.0.0.1: nothing personal leaves the host."""
    for name, service in compose["services"].items():
        if name in PUBLISHED_ON_EVERY_INTERFACE:
            continue
        for container_port, (address, _host_port) in published(service).items():
            assert address == "127.0.0.1", (name, container_port)


def test_dependencies_name_services_with_valid_conditions(compose: dict[str, Any]) -> None:
    """Each `depends_on` names a service, with a condition that service can meet."""
    services = compose["services"]
    for name, service in services.items():
        for needed, spec in (service.get("depends_on") or {}).items():
            assert needed in services, (name, needed)
            condition = spec["condition"]
            assert condition in DEPENDENCY_CONDITIONS, (name, needed, condition)
            if condition == "service_healthy":
                assert "healthcheck" in services[needed], (name, needed)
            if condition == "service_completed_successfully":
                assert services[needed].get("restart") == "no", (name, needed)


def test_processes_start_after_what_they_need(compose: dict[str, Any]) -> None:
    """worker and station wait for the topics and central-sim; the dashboard for the worker; Grafana for Prometheus."""
    services = compose["services"]
    for name in ("worker", "station"):
        needs = services[name]["depends_on"]
        assert needs["topics"]["condition"] == "service_completed_successfully", name
        assert needs["central-sim"]["condition"] == "service_healthy", name
    assert services["dashboard"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "worker" in services["dashboard"]["depends_on"]
    assert "prometheus" in services["grafana"]["depends_on"]


def test_long_running_services_restart_and_the_one_shot_does_not(compose: dict[str, Any]) -> None:
    """`secrets`, `topics` and `acls` run once; every other service comes back after a crash or a reboot of the
    Docker host."""
    for name, service in compose["services"].items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no"
        else:
            assert service.get("restart") in RESTARTING, name


def test_health_checks_probe_the_ports_the_processes_listen_on(compose: dict[str, Any]) -> None:
    """worker and station are healthy when their /metrics answer, central-sim when its admin /health does."""
    services = compose["services"]
    probes = {
        name: " ".join(service["healthcheck"]["test"]) for name, service in services.items() if "healthcheck" in service
    }
    ports = metrics_ports(compose)
    assert f"http://127.0.0.1:{ports['worker']}/metrics" in probes["worker"]
    assert f"http://127.0.0.1:{ports['station']}/metrics" in probes["station"]
    assert f"http://127.0.0.1:{ports['central-sim']}/health" in probes["central-sim"]
    assert env_of(services["dashboard"])["EKTP_DASHBOARD_PORT"] in probes["dashboard"]
    for name in ("central-sim", "worker", "station", "dashboard"):
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], f"<{name} health check>", "exec")  # a typo would leave the service unhealthy forever


def test_secrets_come_from_the_host_with_the_code_dev_defaults(compose: dict[str, Any]) -> None:
    """The citizen-key secret and admin token are read from the host's environment; the fallbacks are the dev values."""
    citizen_key = f"${{EKTP_CITIZEN_KEY_SECRET:-{DEV_CITIZEN_KEY_SECRET}}}"
    admin_token = f"${{EKTP_CENTRAL_ADMIN_TOKEN:-{DEV_ADMIN_TOKEN}}}"
    for name in ("topics", "worker", "station", "dashboard"):
        env = env_of(compose["services"][name])
        assert env["EKTP_CITIZEN_KEY_SECRET"] == citizen_key, name
        assert env["EKTP_CENTRAL_ADMIN_TOKEN"] == admin_token, name
    # central-sim checks the very token the pipeline sends.
    assert env_of(compose["services"]["central-sim"])["EKTP_CENTRAL_ADMIN_TOKEN"] == admin_token
    assert "${GRAFANA_ADMIN_PASSWORD:-" in env_of(compose["services"]["grafana"])["GF_SECURITY_ADMIN_PASSWORD"]


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    """Journal, cards, central's store and the broker's, Prometheus' and Grafana's data are in declared volumes."""
    services = compose["services"]
    run_dir = re.search(r"^ENV EKTP_RUN_DIR=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert run_dir
    station = services["station"]
    journal_volume = volume_holding(station, run_dir[1])
    cards_volume = volume_holding(station, option_of(station, "--out"))
    assert journal_volume
    assert cards_volume
    assert volume_holding(services["central-sim"], env_of(services["central-sim"])["EKTP_CENTRAL_DATA_DIR"])
    for name in ("kafka", "prometheus", "grafana"):
        assert any(not is_bind(source) for source in mounts(services[name]).values()), name
    declared = set(compose["volumes"])
    for name, service in services.items():
        for source in mounts(service).values():
            if is_bind(source):
                assert (ROOT / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)


def test_image_runs_as_a_non_root_user_with_the_tested_versions() -> None:
    """The image installs with constraints.txt, runs as a non-root user, and owns its run dir and cards folder."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -c constraints.txt ." in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^ENV EKTP_RUN_DIR=/var/lib/ektp$", dockerfile, re.MULTILINE)
    assert "chown ektp:ektp /var/lib/ektp /var/lib/ektp-cards" in dockerfile
    assert "chmod 0700 /var/lib/ektp-cards" in dockerfile  # the cards are personal data
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".ektp", "*-data", ".env"} <= ignored


def test_prometheus_scrapes_every_metrics_endpoint(compose: dict[str, Any], prometheus_config: dict[str, Any]) -> None:
    """Prometheus scrapes worker, station and central-sim's admin port at the ports compose gives them."""
    targets = {
        target
        for job in prometheus_config["scrape_configs"]
        for static in job.get("static_configs") or []
        for target in static["targets"]
    } | {
        f"{name}:{found['port']}"
        for job in prometheus_config["scrape_configs"]
        for found in job.get("dns_sd_configs") or []
        for name in found["names"]
    }
    for name, port in metrics_ports(compose).items():
        assert f"{name}:{port}" in targets, name
    for job in prometheus_config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
    for target in targets:
        assert target.split(":")[0] in set(compose["services"]) | {"localhost"}, target


def test_prometheus_reads_the_repository_config(compose: dict[str, Any]) -> None:
    """The config file Prometheus is told to read is deploy/prometheus/prometheus.yml, mounted read-only."""
    prometheus = compose["services"]["prometheus"]
    config_file = next(flag.split("=", 1)[1] for flag in prometheus["command"] if flag.startswith("--config.file="))
    assert host_path(prometheus, config_file) == ROOT / "deploy" / "prometheus" / "prometheus.yml"
    assert f"{config_file}:ro" in " ".join(prometheus["volumes"])


def test_prometheus_loads_the_alerting_rules_of_the_repository(
    compose: dict[str, Any], prometheus_config: dict[str, Any]
) -> None:
    """Each rule file prometheus.yml names, beside the config, is deploy/prometheus/'s, mounted read-only."""
    prometheus = compose["services"]["prometheus"]
    config_file = next(flag.split("=", 1)[1] for flag in prometheus["command"] if flag.startswith("--config.file="))
    rule_files = prometheus_config["rule_files"]
    assert rule_files == ["alerts.yml"]
    for name in rule_files:
        in_container = PurePosixPath(config_file).parent / name
        assert host_path(prometheus, str(in_container)) == ROOT / "deploy" / "prometheus" / name
        assert f"{in_container}:ro" in " ".join(prometheus["volumes"])


def test_grafana_provisioning_points_at_repository_files(
    compose: dict[str, Any], provisioned_datasource: dict[str, Any]
) -> None:
    """Grafana's provisioning, its dashboards folder and home dashboard are files of the repository."""
    grafana = compose["services"]["grafana"]
    provisioning = host_path(grafana, "/etc/grafana/provisioning")
    assert provisioning == ROOT / "deploy" / "grafana" / "provisioning"
    assert provisioned_datasource["type"] == "prometheus"
    (prometheus_port,) = published(compose["services"]["prometheus"])
    assert provisioned_datasource["url"] == f"http://prometheus:{prometheus_port}"
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.yml"))
        for provider in yaml.safe_load(path.read_text())["providers"]
    ]
    assert providers
    for provider in providers:
        folder = host_path(grafana, provider["options"]["path"])
        assert (folder / DASHBOARD_JSON.name).is_file(), folder
    home = env_of(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(grafana, home) == DASHBOARD_JSON


def test_grafana_dashboard_is_identified_and_self_contained(grafana_dashboard: dict[str, Any]) -> None:
    """The dashboard has a fixed uid and title, and no import-time `${DS_...}` variable to fill in."""
    assert grafana_dashboard["uid"] == "ektp-pipeline"
    assert grafana_dashboard["title"] == "ektp-pipeline"
    assert grafana_dashboard["schemaVersion"] >= 36
    assert "${DS_" not in DASHBOARD_JSON.read_text()
    ids = [panel["id"] for panel in grafana_dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_panel_queries_the_provisioned_datasource(
    grafana_dashboard: dict[str, Any], provisioned_datasource: dict[str, Any]
) -> None:
    """Each panel and each of its queries names the provisioned Prometheus data source by its uid."""
    uid = provisioned_datasource["uid"]
    panels = dashboard_panels(grafana_dashboard)
    assert panels
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == uid, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_every_query_names_metrics_the_code_exports(grafana_dashboard: dict[str, Any]) -> None:
    """A renamed metric would leave a panel empty without an error: each name queried is declared in the code."""
    exported = exported_metric_names()
    assert "ektp_intake_submissions_total" in exported
    assert "ektp_station_cards_printed_total" in exported
    for expr in queries(grafana_dashboard):
        named = set(METRIC_IN_QUERY.findall(expr))
        assert named, expr
        assert named <= exported, (expr, named - exported)


def test_dashboard_covers_every_step_the_operators_watch(grafana_dashboard: dict[str, Any]) -> None:
    """Intake, central link, dead-letter stream, printing, pickup and status each have a row and their metrics."""
    rows = {panel["title"] for panel in grafana_dashboard["panels"] if panel["type"] == "row"}
    assert rows == {"Intake", "Central link", "Dead-letter stream", "Printing", "Pickup", "Request status"}
    queried = {name for expr in queries(grafana_dashboard) for name in METRIC_IN_QUERY.findall(expr)}
    worker_metrics = declared_metrics("pipeline/worker/metrics.py")
    assert worker_metrics
    for series in worker_metrics:
        assert series & queried, series
    assert {
        "ektp_station_cards_printed_total", "ektp_station_blank_stock", "ektp_station_jobs_waiting",
        "ektp_station_jobs_refused_total",
    } <= queried


def test_dashboard_answers_the_published_address_and_reads_the_worker(compose: dict[str, Any]) -> None:
    """The dashboard's Host check accepts the loopback address compose publishes it on, its health check asks
    /healthz there, and it reads the breaker from the worker's service, not from its own container."""
    service = compose["services"]["dashboard"]
    env = env_of(service)
    [(address, host_port)] = published(service).values()
    assert f"{address}:{host_port}" in allowed_hosts(env["EKTP_DASHBOARD_HOST"], int(env["EKTP_DASHBOARD_PORT"]))
    assert f"http://127.0.0.1:{env['EKTP_DASHBOARD_PORT']}/healthz" in " ".join(service["healthcheck"]["test"])
    worker_port = env_of(compose["services"]["worker"])["EKTP_WORKER_METRICS_PORT"]
    assert env["EKTP_DASHBOARD_WORKER_METRICS_URL"] == f"http://worker:{worker_port}/metrics"


def test_dashboard_token_comes_from_the_host_or_is_generated(compose: dict[str, Any]) -> None:
    """No token is written into the compose file: the host's EKTP_DASHBOARD_TOKEN, or one made at start."""
    assert env_of(compose["services"]["dashboard"])["EKTP_DASHBOARD_TOKEN"] == "${EKTP_DASHBOARD_TOKEN:-}"
    assert Settings(dashboard_token="").dashboard_token is not None  # empty: `action_token` generates one


# -- Kafka security: the compose deployment runs what `ektp broker start` runs -------------------------------------


def listener_names(listeners: str) -> set[str]:
    """The names of a `listeners` or `advertised.listeners` value: `INTERNAL://:29092,...` -> {INTERNAL, ...}."""
    return {listener.split("://", 1)[0] for listener in listeners.split(",")}


def protocol_map(env: dict[str, str]) -> dict[str, str]:
    return dict(entry.split(":", 1) for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))


def as_property(variable: str) -> str:
    """What the apache/kafka image, and deploy/kafka/start.sh, make of a KAFKA_* variable."""
    key = variable.removeprefix("KAFKA_").lower()
    return key.replace("___", "-").replace("__", "@").replace("_", ".").replace("@", "_")


def mount_of_volume(service: dict[str, Any], volume: str) -> tuple[str, str] | None:
    """(container path, mode) of `volume` in `service`, mode `rw` when none is given."""
    for entry in service.get("volumes") or []:
        source, target, *mode = str(entry).split(":")
        if source == volume:
            return target, mode[0] if mode else "rw"
    return None


def secrets_env(compose: dict[str, Any]) -> dict[str, str]:
    return env_of(compose["services"][SECRETS])


def read_properties(text: str) -> dict[str, str]:
    """A properties file's keys, the last of a repeated one winning as in Java."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture(scope="module")
def launcher_properties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The server.properties of the project's own broker with TLS, the configuration its tests run."""
    settings = Settings(run_dir=tmp_path_factory.mktemp("launcher"), kafka_tls=True)
    return read_properties(BrokerLauncher(settings).server_properties())


def test_every_kafka_listener_asks_for_sasl_over_tls(compose: dict[str, Any]) -> None:
    """Each listener of every node, the controllers' and the one published on the host too, is SASL_SSL: no
    PLAINTEXT (nor SASL_PLAINTEXT) listener is left."""
    for name in KAFKA_NODES:
        env = env_of(compose["services"][name])
        protocols = protocol_map(env)
        named = (listener_names(env["KAFKA_LISTENERS"]) | listener_names(env["KAFKA_ADVERTISED_LISTENERS"])
                 | {env["KAFKA_CONTROLLER_LISTENER_NAMES"], env["KAFKA_INTER_BROKER_LISTENER_NAME"]})
        assert named <= protocols.keys(), name
        assert set(protocols.values()) == {"SASL_SSL"}, (name, protocols)
        assert not any("PLAINTEXT" in value for key, value in env.items() if key.startswith("KAFKA_")), name


def test_every_node_has_the_launcher_s_authorizer_mechanisms_and_super_users(
    compose: dict[str, Any], launcher_properties: dict[str, str]
) -> None:
    """StandardAuthorizer, nothing allowed without an ACL, admin, broker and controller the only super users; SCRAM
    for clients and between nodes, PLAIN for the controllers: what pipeline/broker/launcher.py writes."""
    assert launcher_properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert launcher_properties["allow.everyone.if.no.acl.found"] == "false"
    assert launcher_properties["super.users"] == "User:admin;User:broker;User:controller"
    assert set(launcher_properties["listener.security.protocol.map"].replace(",", ":").split(":")[1::2]) == {
        "SASL_SSL"}
    for name in KAFKA_NODES:
        properties = {as_property(key): value for key, value in env_of(compose["services"][name]).items()
                      if key.startswith("KAFKA_")}
        for key in LAUNCHER_SECURITY:
            assert properties[key] == launcher_properties[key], (name, key)


def test_the_secrets_service_runs_first_and_covers_every_node(compose: dict[str, Any]) -> None:
    """`secrets` is the pipeline's image, once, on the volume it alone writes; its certificate names each node as
    it is dialled, its JAAS lines cover each SCRAM listener, and it gives the brokers' and kafka-ui's files to the
    groups those containers join."""
    services = compose["services"]
    service = services[SECRETS]
    env = secrets_env(compose)
    assert service["image"] == PIPELINE_IMAGE
    assert service["restart"] == "no"
    shell, script = service["entrypoint"]
    assert shell == "sh"
    assert host_path(service, script) == ROOT / "deploy" / "secrets" / "init.sh"
    assert mount_of_volume(service, SECRETS_VOLUME) == ("/run/ektp", "rw")
    assert {env["BROKER_GROUP"], env["KAFKA_UI_GROUP"]} <= {str(group) for group in service["group_add"]}
    hosts = set(env["BROKER_HOSTS"].split())
    for name in KAFKA_NODES:
        node = env_of(services[name])
        assert services[name]["hostname"] in hosts, name
        dialled = {listener.split("://", 1)[1].rsplit(":", 1)[0]
                   for listener in node["KAFKA_ADVERTISED_LISTENERS"].split(",")}
        voters = {voter.split("@", 1)[1].rsplit(":", 1)[0]
                  for voter in node["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")}
        assert dialled | voters <= hosts | {"localhost"}, name
        scram_listeners = listener_names(node["KAFKA_LISTENERS"]) - {node["KAFKA_CONTROLLER_LISTENER_NAMES"]}
        assert set(env["BROKER_LISTENERS"].split()) == scram_listeners, name
        assert services[name]["depends_on"][SECRETS]["condition"] == "service_completed_successfully", name
    assert env["KAFKA_UI_ROLE"] == "admin"


def test_the_secrets_volume_is_mounted_at_one_path_and_written_by_secrets_alone(compose: dict[str, Any]) -> None:
    """The files in the volume name each other by absolute path, so every container mounts it at the same one;
    only `secrets` may write in it."""
    mounted = {name: found for name, service in compose["services"].items()
               if (found := mount_of_volume(service, SECRETS_VOLUME)) is not None}
    assert {target for target, _mode in mounted.values()} == {"/run/ektp"}
    assert {name for name, (_target, mode) in mounted.items() if mode != "ro"} == {SECRETS}
    assert SECRETS_VOLUME in compose["volumes"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    # A new volume takes the owner and mode of the image's folder: the pipeline's user may write, others only pass.
    assert re.search(r"chown ektp:ektp [^\n]*/run/ektp", dockerfile)
    assert "chmod 0711 /run/ektp" in dockerfile


def test_every_kafka_node_starts_with_the_secrets_and_checks_its_health_as_admin(compose: dict[str, Any]) -> None:
    """Each node runs deploy/kafka/start.sh on the brokers' folder of the volume, read-only, in the group that owns
    it; its health check authenticates as admin with that folder's client properties."""
    env = secrets_env(compose)
    for name in KAFKA_NODES:
        node = compose["services"][name]
        shell, script, folder = node["entrypoint"]
        assert shell == "/bin/bash", name
        assert host_path(node, script) == ROOT / "deploy" / "kafka" / "start.sh", name
        assert folder == env["BROKER_FILES"], name
        assert mount_of_volume(node, SECRETS_VOLUME) == ("/run/ektp", "ro"), name
        assert env["BROKER_GROUP"] in {str(group) for group in node["group_add"]}, name
        assert env_of(node)["CLUSTER_ID"], name
        probe = " ".join(node["healthcheck"]["test"])
        assert "kafka-broker-api-versions.sh" in probe, name
        assert f"--command-config {env['BROKER_FILES']}/admin.properties" in probe, name


def test_every_pipeline_service_connects_with_its_credentials_over_tls(compose: dict[str, Any]) -> None:
    """Each container of the pipeline's image reads the passwords and CA `secrets` makes, from the volume mounted
    read-only, with TLS on (the container network is no loopback); each picks its own role."""
    made = secrets_env(compose)
    checked = []
    for name, service in compose["services"].items():
        if "build" not in service or runs_central_sim(service) or name == SECRETS:
            continue
        env = env_of(service)
        assert env["EKTP_CREDENTIALS_DIR"] == made["EKTP_CREDENTIALS_DIR"], name
        assert env["EKTP_TLS_DIR"] == made["EKTP_TLS_DIR"], name
        assert env["EKTP_KAFKA_TLS"] == "true", name
        assert volume_holding(service, env["EKTP_CREDENTIALS_DIR"]) == SECRETS_VOLUME, name
        assert volume_holding(service, env["EKTP_TLS_DIR"]) == SECRETS_VOLUME, name
        assert mount_of_volume(service, SECRETS_VOLUME) == ("/run/ektp", "ro"), name
        settings = Settings(credentials_dir=env["EKTP_CREDENTIALS_DIR"], tls_dir=env["EKTP_TLS_DIR"], kafka_tls=True)
        assert settings.kafka_uses_tls
        checked.append(name)
    assert {"topics", "acls", "worker", "station", "dashboard"} <= set(checked)


def test_kafka_ui_authenticates_and_trusts_the_ca(compose: dict[str, Any]) -> None:
    """kafka-ui connects with SASL_SSL and SCRAM as the role `secrets` writes its JAAS file for, read from the
    volume (its password never in its environment), trusts the CA alone, and changes nothing."""
    ui = compose["services"]["kafka-ui"]
    env = env_of(ui)
    made = secrets_env(compose)
    folder = made["KAFKA_UI_FILES"]
    assert env["KAFKA_CLUSTERS_0_PROPERTIES_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["KAFKA_CLUSTERS_0_PROPERTIES_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["KAFKA_CLUSTERS_0_PROPERTIES_SSL_TRUSTSTORE_TYPE"] == "PEM"
    assert env["KAFKA_CLUSTERS_0_PROPERTIES_SSL_TRUSTSTORE_LOCATION"] == f"{folder}/ca.pem"
    assert env["JDK_JAVA_OPTIONS"] == f"-Djava.security.auth.login.config={folder}/{made['KAFKA_UI_ROLE']}.jaas"
    assert env["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert not any("JAAS" in key or "PASSWORD" in key for key in env)
    assert mount_of_volume(ui, SECRETS_VOLUME) == ("/run/ektp", "ro")
    assert made["KAFKA_UI_GROUP"] in {str(group) for group in ui["group_add"]}


def test_the_acls_are_synced_before_the_programs_start(compose: dict[str, Any]) -> None:
    """`acls` runs `ektp acl sync` as admin once the brokers are healthy, like `topics`; until it has, the broker
    refuses the programs' roles, so worker, station and dashboard wait for it."""
    services = compose["services"]
    acls = services["acls"]
    assert acls["command"] == ["acl", "sync"]
    assert acls["depends_on"] == services["topics"]["depends_on"]
    for name in ("worker", "station", "dashboard"):
        assert services[name]["depends_on"]["acls"]["condition"] == "service_completed_successfully", name


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_deploy_scripts_parse() -> None:
    for script in ("deploy/secrets/init.sh", "deploy/kafka/start.sh"):
        checked = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True, timeout=30,
                                 check=False)
        assert checked.returncode == 0, (script, checked.stderr)


# -- the two scripts, run as compose runs them, on a folder standing for the volume and a Kafka that is a stub -----

SECRETS_MOUNT = "/run/ektp"
STUB_RUN_CLASS = """#!/usr/bin/env bash
set -eu
printf '%s\\n' "$@" >"$STUB_OUT/run-class.argv"
cp "${1#@}" "$STUB_OUT/format.argfile"
mkdir -p "$KAFKA_LOG_DIRS"
echo "cluster.id=stub" >"$KAFKA_LOG_DIRS/meta.properties"
"""
STUB_SERVER_START = """#!/usr/bin/env bash
cp "$1" "$STUB_OUT/started.properties"
"""


def in_volume(value: str, volume: Path) -> str:
    return value.replace(SECRETS_MOUNT, str(volume))


def password(volume: Path, role: str) -> str:
    return str(json.loads((volume / "credentials" / f"{role}.json").read_text())["password"])


@pytest.fixture(scope="module")
def volume(compose: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/secrets/init.sh run with the `secrets` service's variables, `ektp` being this checkout's, on a folder
    standing for the volume; the groups are this process's own, which it may give its files to."""
    if shutil.which("bash") is None or shutil.which("sha256sum") is None:
        pytest.skip("needs bash and sha256sum")
    base = tmp_path_factory.mktemp("compose")
    folder, shim = base / "volume", base / "bin"
    folder.mkdir()
    shim.mkdir()
    (shim / "ektp").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pipeline "$@"\n')
    (shim / "ektp").chmod(0o755)
    service = compose["services"][SECRETS]
    group = str(os.getgid())
    env = {key: in_volume(value, folder) for key, value in env_of(service).items()}
    env |= {"BROKER_GROUP": group, "KAFKA_UI_GROUP": group, "EKTP_RUN_DIR": str(base / "run"),
            "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "HOME": str(base)}
    shell, script = service["entrypoint"]
    made = subprocess.run([shell, str(host_path(service, script))], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


def start_node(compose: dict[str, Any], name: str, volume: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """deploy/kafka/start.sh with node `name`'s variables, its storage in `work`, and a stub for Kafka's scripts,
    which keeps what they were given in `work/out`."""
    node = compose["services"][name]
    home, out = work / "kafka", work / "out"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    out.mkdir(exist_ok=True)
    for script, text in (("kafka-run-class.sh", STUB_RUN_CLASS), ("kafka-server-start.sh", STUB_SERVER_START)):
        (home / "bin" / script).write_text(text)
        (home / "bin" / script).chmod(0o755)
    _shell, script, folder = node["entrypoint"]
    env = env_of(node) | {"KAFKA_LOG_DIRS": str(work / "data"), "BROKER_HOME": str(home),
                          "BROKER_CONFIG": str(work / "config"), "STUB_OUT": str(out), "PATH": os.environ["PATH"]}
    return subprocess.run(["bash", str(host_path(node, script)), in_volume(folder, volume)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_secrets_service_writes_what_the_others_read(compose: dict[str, Any], volume: Path) -> None:
    """Every path compose hands a container (start.sh's folder, the health check's properties, kafka-ui's JAAS file
    and CA, the pipeline's credentials and CA) is there, with the right user's password; the brokers' certificate
    names every node."""
    services = compose["services"]
    admin = password(volume, "admin")
    probe = " ".join(services["kafka"]["healthcheck"]["test"])
    health = Path(in_volume(probe.split("--command-config ", 1)[1].split()[0], volume))
    assert f'username="admin" password="{admin}"' in health.read_text()
    ui = env_of(services["kafka-ui"])
    jaas = Path(in_volume(ui["JDK_JAVA_OPTIONS"].split("=", 1)[1], volume))
    assert jaas.read_text().startswith("KafkaClient {")
    assert f'username="admin" password="{admin}"' in jaas.read_text()
    ca = Path(in_volume(ui["KAFKA_CLUSTERS_0_PROPERTIES_SSL_TRUSTSTORE_LOCATION"], volume))
    pipeline = env_of(services["worker"])
    assert ca.read_bytes() == (Path(in_volume(pipeline["EKTP_TLS_DIR"], volume)) / "ca.pem").read_bytes()
    assert {path.stem for path in Path(in_volume(pipeline["EKTP_CREDENTIALS_DIR"], volume)).glob("*.json")} == set(
        all_roles())
    certificate = x509.load_pem_x509_certificate((volume / "tls" / "broker.pem").read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {services[name]["hostname"] for name in KAFKA_NODES} | {"localhost"} <= set(
        names.get_values_for_type(x509.DNSName))


@pytest.mark.parametrize("name", KAFKA_NODES)
def test_a_node_starts_with_the_compose_security_and_its_storage_holds_every_scram_user(
    compose: dict[str, Any], volume: Path, tmp_path: Path, name: str
) -> None:
    """start.sh turns the node's KAFKA_* variables into server.properties, adds the volume's JAAS lines and TLS
    files, formats the storage once with every SCRAM user (passwords in an @argfile, never on a command line), and
    starts Kafka on that file."""
    result = start_node(compose, name, volume, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "out"
    properties = read_properties((out / "started.properties").read_text())
    env = env_of(compose["services"][name])
    for key, value in env.items():
        if key.startswith("KAFKA_") and key != "KAFKA_HEAP_OPTS":
            assert properties[as_property(key)] == (str(tmp_path / "data") if key == "KAFKA_LOG_DIRS" else value)
    assert "heap.opts" not in properties
    assert (tmp_path / "config" / "server.properties").stat().st_mode & 0o777 == 0o600
    broker, controller = password(volume, "broker"), password(volume, CONTROLLER_ROLE)
    controller_listener = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    for listener in listener_names(env["KAFKA_LISTENERS"]) - {controller_listener}:
        assert properties[f"listener.name.{listener.lower()}.scram-sha-512.sasl.jaas.config"] == (
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" '
            f'password="{broker}";'), listener
    assert properties[f"listener.name.{controller_listener.lower()}.plain.sasl.jaas.config"] == (
        f'org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" '
        f'password="{controller}" user_controller="{controller}";')
    for key in ("ssl.keystore.location", "ssl.truststore.location"):
        assert Path(properties[key]).is_file(), key
        assert Path(properties[key]).parent == volume / "kafka", key
    # The storage, formatted with the cluster's id and every user but the controller, which uses PLAIN.
    argv = (out / "run-class.argv").read_text().split()
    assert len(argv) == 1
    assert argv[0].startswith("@")
    arguments = [line[1:-1] for line in (out / "format.argfile").read_text().splitlines()]
    assert arguments[:7] == ["kafka.tools.StorageTool", "format", "--cluster-id", env["CLUSTER_ID"], "--config",
                             str(tmp_path / "config" / "server.properties"), "--ignore-formatted"]
    users = arguments[7:]
    assert users[::2] == ["--add-scram"] * (len(all_roles()) - 1)
    assert set(users[1::2]) == {f"SCRAM-SHA-512=[name={role},password={password(volume, role)}]"
                                for role in all_roles() if role != CONTROLLER_ROLE}
    assert not (tmp_path / "config" / "format.args").exists()  # the passwords do not stay behind


def test_a_node_formats_its_storage_once(compose: dict[str, Any], volume: Path, tmp_path: Path) -> None:
    assert start_node(compose, "kafka", volume, tmp_path).returncode == 0
    (tmp_path / "out" / "run-class.argv").unlink()
    (tmp_path / "out" / "started.properties").unlink()
    again = start_node(compose, "kafka", volume, tmp_path)
    assert again.returncode == 0, again.stderr
    assert not (tmp_path / "out" / "run-class.argv").exists()
    assert (tmp_path / "out" / "started.properties").is_file()


def test_a_node_refuses_storage_without_the_scram_users(compose: dict[str, Any], volume: Path,
                                                        tmp_path: Path) -> None:
    """Storage formatted by the compose file of before (no SCRAM users) would refuse every client: the node says so
    and how to get out, instead of starting."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meta.properties").write_text("cluster.id=old\n")
    refused = start_node(compose, "kafka", volume, tmp_path)
    assert refused.returncode == 1
    assert "formatted without the SCRAM users" in refused.stderr
    assert "docker volume rm" in refused.stderr
    assert not (tmp_path / "out" / "started.properties").exists()


def test_a_node_refuses_storage_formatted_with_other_passwords(compose: dict[str, Any], volume: Path,
                                                               tmp_path: Path) -> None:
    assert start_node(compose, "kafka", volume, tmp_path).returncode == 0
    (tmp_path / "data" / ".ektp-security").write_text("sasl-scram-sha-512 0000\n")
    (tmp_path / "out" / "started.properties").unlink()
    refused = start_node(compose, "kafka", volume, tmp_path)
    assert refused.returncode == 1
    assert "other SCRAM users or passwords" in refused.stderr
    assert not (tmp_path / "out" / "started.properties").exists()
