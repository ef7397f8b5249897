"""The broker launcher's configuration and its errors, without starting a JVM."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pipeline.broker import BrokerLauncher
from pipeline.broker.launcher import new_cluster_id
from pipeline.config import CLUSTER_FILE, Settings
from pipeline.errors import BrokerError, PrerequisiteMissing
from pipeline.proving.sandbox import free_port


def test_server_properties_follow_the_settings(tmp_path: Path) -> None:
    """Ports, data folder and partitions in server.properties come from the settings."""
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093, topic_partitions=4)
    properties = dict(
        line.split("=", 1) for line in BrokerLauncher(settings).server_properties().splitlines()
    )
    assert properties["listeners"] == "CLIENT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert properties["advertised.listeners"] == "CLIENT://127.0.0.1:29092"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert properties["log.dirs"] == str(tmp_path / "kafka" / "kraft")
    assert properties["process.roles"] == "broker,controller"
    assert properties["num.partitions"] == "4"
    assert properties["auto.create.topics.enable"] == "false"
    assert properties["offsets.topic.replication.factor"] == properties["default.replication.factor"] == "1"
    assert properties["min.insync.replicas"] == properties["transaction.state.log.min.isr"] == "1"


def properties_of(launcher: BrokerLauncher, node: int) -> dict[str, str]:
    return dict(line.split("=", 1) for line in launcher.server_properties(launcher.nodes[node - 1]).splitlines())


def test_each_node_of_a_cluster_has_its_ports_and_folder_and_votes_with_the_others(tmp_path: Path) -> None:
    """Node i listens on kafka_port + i - 1 and controller_port + i - 1, keeps its data in node-<i>, and the quorum
    is the three of them; every topic of the broker's own is kept 3 times, written once 2 hold it."""
    settings = Settings(run_dir=tmp_path, broker_nodes=3, kafka_port=29092, broker_controller_port=29193)
    launcher = BrokerLauncher(settings)
    assert [node.port for node in launcher.nodes] == [29092, 29093, 29094]
    second = properties_of(launcher, 2)
    assert second["node.id"] == "2"
    assert second["process.roles"] == "broker,controller"
    assert second["listeners"] == "CLIENT://127.0.0.1:29093,CONTROLLER://127.0.0.1:29194"
    assert second["advertised.listeners"] == "CLIENT://127.0.0.1:29093"
    assert second["controller.quorum.voters"] == "1@127.0.0.1:29193,2@127.0.0.1:29194,3@127.0.0.1:29195"
    assert second["log.dirs"] == str(tmp_path / "kafka" / "node-2" / "kraft")
    for key in ("default.replication.factor", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor", "share.coordinator.state.topic.replication.factor"):
        assert second[key] == "3", key
    for key in ("min.insync.replicas", "transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr"):
        assert second[key] == "2", key
    assert {properties_of(launcher, n)["controller.quorum.voters"] for n in (1, 2, 3)} == {
        second["controller.quorum.voters"]
    }
    assert set(launcher.pids()) == set()  # nothing runs; names would be broker-1, broker-2, broker-3


def test_a_folder_formatted_for_one_node_is_never_started_as_a_cluster(tmp_path: Path) -> None:
    """`broker start --nodes 3` on one node's data fails with what to do, before touching anything."""
    (tmp_path / "kafka" / "kraft").mkdir(parents=True)
    (tmp_path / "kafka" / "kraft" / "meta.properties").write_text("cluster.id=abc\nnode.id=1\n")
    launcher = BrokerLauncher(Settings(run_dir=tmp_path, broker_nodes=3))
    with pytest.raises(BrokerError, match=r"belongs to a cluster of 1 node\(s\), not 3: start it with `--nodes 1`"):
        launcher.start()
    assert not (tmp_path / "kafka" / "node-1").exists()
    assert len(launcher.nodes) == 1  # stop and status still cover the node that is there


def test_a_cluster_folder_is_never_started_as_one_node(tmp_path: Path) -> None:
    """A cluster's data started with one node would lose its quorum; it is refused, and stop covers all three."""
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / CLUSTER_FILE).write_text(json.dumps({"nodes": 3, "cluster_id": "abc"}))
    launcher = BrokerLauncher(Settings(run_dir=tmp_path, broker_nodes=1))
    with pytest.raises(BrokerError, match=r"belongs to a cluster of 3 node\(s\), not 1"):
        launcher.start()
    assert [node.name for node in launcher.nodes] == ["broker-1", "broker-2", "broker-3"]
    assert launcher.stop() is False


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
    launcher.nodes[0].pid_file.write_text(f"{os.getpid()}\n")  # a live pid that is not a broker
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


def test_every_listener_asks_for_sasl_and_only_acls_grant(tmp_path: Path) -> None:
    """On the loopback: SCRAM for clients and brokers, PLAIN among controllers, the ACL authorizer deny-by-default."""
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093)
    properties = dict(line.split("=", 1) for line in BrokerLauncher(settings).server_properties().splitlines())
    assert properties["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT"
    assert properties["sasl.enabled.mechanisms"] == properties["sasl.mechanism.inter.broker.protocol"] == \
        "SCRAM-SHA-512"
    assert properties["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert set(properties["super.users"].split(";")) == {"User:admin", "User:broker", "User:controller"}
    broker_password = json.loads((tmp_path / "credentials" / "broker.json").read_text())["password"]
    assert f'password="{broker_password}"' in properties["listener.name.client.scram-sha-512.sasl.jaas.config"]


def test_off_the_loopback_every_listener_uses_tls(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, kafka_host="10.1.2.3", kafka_port=29092, broker_controller_port=29093)
    properties = dict(line.split("=", 1) for line in BrokerLauncher(settings).server_properties().splitlines())
    assert properties["listener.security.protocol.map"] == "CONTROLLER:SASL_SSL,CLIENT:SASL_SSL"
    assert properties["ssl.keystore.type"] == properties["ssl.truststore.type"] == "PEM"
    assert Path(properties["ssl.truststore.location"]) == tmp_path / "tls" / "ca.pem"
    assert Path(properties["ssl.keystore.location"]).is_file()


def test_tls_cannot_be_turned_off_off_the_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must use TLS"):
        Settings(run_dir=tmp_path, kafka_host="10.1.2.3", kafka_tls=False)


def test_storage_formatted_without_scram_users_is_refused_with_what_to_do(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path)
    data = settings.broker_data_path
    data.mkdir(parents=True)
    (data / CLUSTER_FILE).write_text(json.dumps({"nodes": 1, "cluster_id": new_cluster_id()}))
    with pytest.raises(BrokerError, match="formatted without the SCRAM users"):
        BrokerLauncher(settings).start()


# -- the benchmark's comparison broker: extra listeners (pipeline/proving/bench/security.py) ---------------------

COMPARISON = {"OPEN": (29094, "PLAINTEXT"), "SECURE": (29095, "SASL_SSL")}


def test_extra_listeners_are_added_to_every_listener_property_and_the_sasl_ones_authenticate_like_client(
    tmp_path: Path,
) -> None:
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093)
    properties = dict(line.split("=", 1) for line in BrokerLauncher(
        settings, extra_listeners={**COMPARISON, "OTHER": (29096, "SASL_PLAINTEXT")}).server_properties().splitlines())
    assert properties["listeners"] == ("CLIENT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093,"
                                       "OPEN://127.0.0.1:29094,SECURE://127.0.0.1:29095,OTHER://127.0.0.1:29096")
    assert properties["advertised.listeners"] == ("CLIENT://127.0.0.1:29092,OPEN://127.0.0.1:29094,"
                                                  "SECURE://127.0.0.1:29095,OTHER://127.0.0.1:29096")
    assert properties["listener.security.protocol.map"] == (
        "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT,OPEN:PLAINTEXT,SECURE:SASL_SSL,OTHER:SASL_PLAINTEXT")
    client_jaas = properties["listener.name.client.scram-sha-512.sasl.jaas.config"]
    assert properties["listener.name.secure.scram-sha-512.sasl.jaas.config"] == client_jaas
    assert properties["listener.name.other.scram-sha-512.sasl.jaas.config"] == client_jaas
    assert not any(key.startswith("listener.name.open.") for key in properties)
    # One SASL_SSL listener is enough for the broker to present its certificate, made under the settings' tls dir.
    assert properties["ssl.keystore.type"] == properties["ssl.truststore.type"] == "PEM"
    assert Path(properties["ssl.truststore.location"]) == tmp_path / "tls" / "ca.pem"
    assert Path(properties["ssl.keystore.location"]).is_file()
    # What the project's own broker runs with is unchanged: CLIENT and the controllers still ask for SASL.
    assert properties["inter.broker.listener.name"] == "CLIENT"
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"


def test_without_a_sasl_ssl_listener_no_certificate_is_made(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093)
    properties = BrokerLauncher(settings, extra_listeners={"OPEN": (29094, "PLAINTEXT")}).server_properties()
    assert "ssl." not in properties
    assert not (tmp_path / "tls").exists()


def test_no_extra_listener_changes_nothing(tmp_path: Path) -> None:
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093)
    assert BrokerLauncher(settings, extra_listeners={}).server_properties() == \
        BrokerLauncher(settings).server_properties()


@pytest.mark.parametrize(
    ("overrides", "extra", "refusal"),
    [
        ({"broker_nodes": 3}, COMPARISON, r"one-node broker only; this one has 3 nodes"),
        ({"kafka_host": "10.1.2.3"}, {"OPEN": (29094, "PLAINTEXT")}, r"PLAINTEXT only on the loopback"),
        ({"kafka_host": "10.1.2.3"}, {"OTHER": (29094, "SASL_PLAINTEXT")}, r"SASL_PLAINTEXT only on the loopback"),
        ({}, {"OPEN": (29094, "SSL")}, r"protocol 'SSL' is none of PLAINTEXT, SASL_PLAINTEXT, SASL_SSL"),
        ({}, {"CLIENT": (29094, "PLAINTEXT")}, r"a name in capitals other than CLIENT and CONTROLLER"),
        ({}, {"open": (29094, "PLAINTEXT")}, r"a name in capitals"),
        ({}, {"OPEN": (29092, "PLAINTEXT")}, r"port 29092 is another listener's"),
        ({}, {"OPEN": (29094, "PLAINTEXT"), "SECURE": (29094, "SASL_SSL")}, r"port 29094 is another listener's"),
    ],
)
def test_extra_listeners_are_refused_where_they_do_not_belong(
    tmp_path: Path, overrides: dict[str, object], extra: dict[str, tuple[int, str]], refusal: str,
) -> None:
    settings = Settings(run_dir=tmp_path, kafka_port=29092, broker_controller_port=29093, **overrides)  # type: ignore[arg-type]
    with pytest.raises(BrokerError, match=refusal):
        BrokerLauncher(settings, extra_listeners=extra)


def test_a_taken_extra_port_stops_the_start_before_anything_is_written(tmp_path: Path) -> None:
    """The port check covers the extra listeners' ports too, like the client's and the controller's."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        settings = Settings(run_dir=tmp_path, kafka_port=free_port(), broker_controller_port=free_port())
        launcher = BrokerLauncher(settings, extra_listeners={"OPEN": (busy, "PLAINTEXT")})
        with pytest.raises(BrokerError, match=rf"port 127.0.0.1:{busy} of broker node 1 is taken"):
            launcher._launch(launcher.nodes)
    assert not launcher.nodes[0].properties_file.exists()
