"""The Apache Kafka broker the project runs itself: one KRaft node, or a cluster of several on this host.

Every node is broker and controller in one JVM. The jars come from Maven Central through `pom.xml` beside
this file; each node runs with plain `java`, detached, with its pid, configuration, logs and data in a folder
of the broker's data folder (`Settings.broker_data_path`), which persists across restarts: the data folder
itself for one node, `node-<i>` in it for each node of a cluster, whose node count `cluster.json` there
remembers.

Ports: node i (from 1) listens for clients on `kafka_port + i - 1` and for the controller quorum on
`broker_controller_port + i - 1`; the quorum's voters are all the nodes (a static `controller.quorum.voters`).

Security: both listeners ask for SASL (SCRAM-SHA-512 for clients and between brokers, PLAIN among the
controllers), with TLS as well off the loopback (`Settings.kafka_uses_tls`, certificates from
`pipeline/broker/certs.py`). The SCRAM users, one per role (`pipeline/kafka/security.py`), are written into
the storage when it is formatted; on every start the ACLs are made equal to the derived set
(`pipeline/broker/authorization.py`), and `StandardAuthorizer` refuses whatever they do not allow.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiokafka.errors import KafkaError

from pipeline.broker.authorization import AclSync, sync_acls
from pipeline.broker.certs import ensure_certificates, server_tls_properties
from pipeline.broker.external import broker_properties, format_arguments, java_argfile
from pipeline.config import CLUSTER_FILE, Settings, is_loopback, remembered_nodes
from pipeline.errors import BrokerError, PrerequisiteMissing
from pipeline.kafka.admin import ReplicationHealth, broker_answers, replication_health
from pipeline.kafka.security import (
    ADMIN_ROLE,
    SCRAM_MECHANISM,
    SUPER_ROLES,
    Credential,
    ensure_credentials,
    security_protocol,
)
from pipeline.topology.acls import principal

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J2 = HERE / "log4j2.properties"
MAIN_CLASS = "kafka.Kafka"
MAIN_CLASS_STORAGE = "kafka.tools.StorageTool"
# What `cluster.json` says of storage formatted with the SCRAM users; storage without them cannot authenticate.
SECURITY = "sasl-scram-sha-512"
# The protocols an extra listener of the benchmark's comparison broker may speak (`BrokerLauncher.extra_listeners`).
EXTRA_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")
_OWN_LISTENERS = ("CLIENT", "CONTROLLER")


@dataclass(frozen=True)
class NodeStatus:
    """One node of the broker: its process and whether it answers."""

    node_id: int
    port: int
    pid: int | None
    running: bool
    answering: bool
    rss_mb: float | None = None
    uptime_s: float | None = None

    @property
    def up(self) -> bool:
        return self.running and self.answering


@dataclass(frozen=True)
class BrokerStatus:
    """The truth about the broker: its nodes' processes, whether they answer, and its partitions' replicas.

    `running` when any node's process runs; `pid` is the first running node's, `rss_mb` all nodes' together.
    `under_replicated` counts the partitions whose in-sync replicas are fewer than their replicas, `offline`
    those without a leader; both are None when no node answers.
    """

    running: bool
    answering: bool
    pid: int | None
    bootstrap_servers: str
    data_dir: str
    rss_mb: float | None = None
    uptime_s: float | None = None
    nodes: tuple[NodeStatus, ...] = ()
    under_replicated: int | None = None
    offline: int | None = None

    @property
    def up(self) -> bool:
        """Every node runs and answers."""
        return bool(self.nodes) and all(node.up for node in self.nodes)


class BrokerNode:
    """One JVM of the broker: node `node_id`, a broker and a controller, with its own folder."""

    def __init__(self, node_id: int, folder: Path, *, host: str, port: int, controller_port: int, single: bool):
        self.node_id = node_id
        self.name = "broker" if single else f"broker-{node_id}"
        self.folder = folder
        self.host = host
        self.port = port
        self.controller_port = controller_port
        self.kraft_dir = folder / "kraft"
        self.logs_dir = folder / "logs"
        self.properties_file = folder / "server.properties"
        self.pid_file = folder / "broker.pid"
        self.stdout_file = self.logs_dir / "stdout.log"
        self.log_file = self.logs_dir / "server.log"
        self.format_args_file = folder / "format.args"
        self.process: subprocess.Popen[bytes] | None = None  # set when this launcher started it

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def formatted(self) -> bool:
        return (self.kraft_dir / "meta.properties").is_file()

    def pid(self) -> int | None:
        """The node's process id while it runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_our_broker(pid, self.properties_file) else None

    def starting_or_running(self) -> bool:
        # Right after the fork, /proc shows our own command line until `java` is exec'ed: ask the child.
        if self.process is not None:
            return self.process.poll() is None
        return self.pid() is not None

    def settle(self) -> None:
        """Forget the process this launcher started, once it is gone (it is reaped already)."""
        if self.process is not None:
            self.process.wait()
            self.process = None
        self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int) -> str:
        """The last `lines` lines of the node's log (its stdout when the log is empty)."""
        for source in (self.log_file, self.stdout_file):
            if source.is_file() and source.stat().st_size:
                return "\n".join(source.read_text(errors="replace").splitlines()[-lines:])
        return "(no log yet)"


class BrokerLauncher:
    """Fetch, start, stop and inspect the project's own Kafka broker, one node or a cluster of them.

    The nodes are those the data folder was formatted for (`cluster.json`), or, on a fresh folder, the
    `broker_nodes` setting: `stop` and `status` always cover every node the data belongs to.
    """

    def __init__(self, settings: Settings, *, extra_listeners: Mapping[str, tuple[int, str]] | None = None) -> None:
        """`extra_listeners` (NAME -> (port, protocol)) exists for the benchmark's comparison broker only
        (`pipeline/proving/bench/security.py`), which measures what SCRAM and TLS cost beside a listener without
        them: the project's own broker never has a listener without SASL. Each is added to node 1 of a one-node
        broker, on `kafka_host`; one without TLS only on the loopback; a SASL one authenticates as CLIENT does.
        """
        self.settings = settings
        self.data_dir = settings.broker_data_path
        self.libs_dir = settings.broker_libs_path
        self.cluster_file = self.data_dir / CLUSTER_FILE
        self._credentials: dict[str, Credential] | None = None
        self.last_acl_sync: AclSync | None = None
        count = self.formatted_nodes() or settings.broker_nodes
        self.nodes = [
            BrokerNode(
                number, self.data_dir if count == 1 else self.data_dir / f"node-{number}",
                host=settings.kafka_host, port=settings.kafka_port + number - 1,
                controller_port=settings.broker_controller_port + number - 1, single=count == 1,
            )
            for number in range(1, count + 1)
        ]
        self.extra_listeners = _checked_extra_listeners(settings, len(self.nodes), dict(extra_listeners or {}))

    # -- jars -------------------------------------------------------------------------------------------

    @property
    def _stamp(self) -> Path:
        digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
        return self.libs_dir / f".fetched-{digest}"

    def jars_present(self) -> bool:
        return self._stamp.is_file()

    def fetch_jars(self) -> bool:
        """Fetch the broker's jars from Maven Central into the cache, once. True when it fetched."""
        if self.jars_present():
            return False
        mvn = _require("mvn", "Apache Maven 3.8+ (Debian: apt-get install maven)")
        self.libs_dir.parent.mkdir(parents=True, exist_ok=True)
        # Copy into a fresh folder and swap it in whole, so an interrupted fetch never leaves half a broker.
        staging = Path(tempfile.mkdtemp(prefix="libs-", dir=self.libs_dir.parent))
        command = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise BrokerError(f"fetching the broker's jars with Maven failed:\n{tail}")
        (staging / self._stamp.name).write_text("ok\n")
        if self.libs_dir.exists():
            shutil.rmtree(self.libs_dir)
        staging.rename(self.libs_dir)
        return True

    # -- configuration ----------------------------------------------------------------------------------

    @property
    def credentials(self) -> dict[str, Credential]:
        """Every role's SCRAM credential, made on first use (`ensure_credentials`)."""
        if self._credentials is None:
            self._credentials = ensure_credentials(self.settings)
        return self._credentials

    def formatted_nodes(self) -> int | None:
        """How many nodes the data folder was formatted for; None for a fresh folder."""
        remembered = remembered_nodes(self.data_dir)
        if remembered is not None:
            return remembered
        # A one-node folder formatted before `cluster.json` existed.
        return 1 if (self.data_dir / "kraft" / "meta.properties").is_file() else None

    def server_properties(self, node: BrokerNode | None = None) -> str:
        """server.properties of `node` (the first by default), from the settings."""
        s = self.settings
        node = node or self.nodes[0]
        host = node.host
        voters = ",".join(f"{other.node_id}@{host}:{other.controller_port}" for other in self.nodes)
        replication, min_insync = str(s.topic_replication), str(s.topic_min_insync)
        client = security_protocol(s)
        controller = "SASL_SSL" if s.kafka_uses_tls else "SASL_PLAINTEXT"
        sasl_extras = [name for name, (_port, protocol) in self.extra_listeners.items() if protocol != "PLAINTEXT"]
        lines = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"CLIENT://{host}:{node.port},CONTROLLER://{host}:{node.controller_port}",
            "advertised.listeners": f"CLIENT://{host}:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "CLIENT",
            "listener.security.protocol.map": f"CONTROLLER:{controller},CLIENT:{client}",
            # Every client, broker and controller authenticates: SCRAM on the client listener, whose users the
            # storage was formatted with; PLAIN on the controllers' own, whose one user is in this file (SCRAM
            # users live in the metadata the quorum serves, so the quorum cannot use them).
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            **broker_properties(self.credentials, ["CLIENT", *sasl_extras], tls_folder=None),
            # What each principal may do: the ACLs `sync_acls` writes; nothing without one.
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": ";".join(principal(role) for role in SUPER_ROLES),
            "log.dirs": str(node.kraft_dir),
            "num.partitions": str(s.topic_partitions),
            # Topics come from the registry (`ektp topics create`), never from a typo in a client.
            "auto.create.topics.enable": "false",
            # Topics created without these (faust's own) and the broker's own topics are replicated like
            # the registry's: with acks=all a write is safe once `min.insync.replicas` nodes hold it.
            "default.replication.factor": replication,
            "min.insync.replicas": min_insync,
            "offsets.topic.replication.factor": replication,
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": min_insync,
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": min_insync,
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.cleaner.dedupe.buffer.size": "2097152",
        }
        for name, (port, protocol) in self.extra_listeners.items():  # the comparison broker's, on its one node
            lines["listeners"] += f",{name}://{host}:{port}"
            lines["advertised.listeners"] += f",{name}://{host}:{port}"
            lines["listener.security.protocol.map"] += f",{name}:{protocol}"
        if s.kafka_uses_tls or "SASL_SSL" in (protocol for _port, protocol in self.extra_listeners.values()):
            lines |= server_tls_properties(ensure_certificates(s))
        return "".join(f"{key}={value}\n" for key, value in lines.items())

    def _java(self, *args: str, heap: bool = True, node: BrokerNode | None = None) -> list[str]:
        java = _require("java", "a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)")
        options = [
            f"-Dlog4j2.configurationFile={LOG4J2}",
            f"-Dkafka.logs.dir={(node or self.nodes[0]).logs_dir}",
            "-Djava.awt.headless=true",
        ]
        if heap:
            size = self.settings.broker_heap
            options += [f"-Xms{size}", f"-Xmx{size}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
        return [java, *options, "-cp", str(self.libs_dir / "*"), *args]

    def _check_layout(self) -> None:
        """Refuse to start the data folder as a cluster of another size than it was formatted for."""
        formatted, wanted = self.formatted_nodes(), self.settings.broker_nodes
        if formatted is not None and formatted != wanted:
            raise BrokerError(
                f"the broker's data in {self.data_dir} belongs to a cluster of {formatted} node(s), not {wanted}: "
                f"start it with `--nodes {formatted}` (or EKTP_BROKER_NODES={formatted}), or give the new cluster "
                "a folder of its own (EKTP_RUN_DIR or EKTP_BROKER_DATA_DIR); removing the folder loses its topics"
            )
        if formatted is not None and self._remembered().get("security") != SECURITY:
            raise BrokerError(
                f"the broker's data in {self.data_dir} was formatted without the SCRAM users every client now "
                "authenticates as, and Kafka adds them only when formatting: stop everything, then remove that "
                "folder (losing its topics) or give the broker a new one (EKTP_RUN_DIR or EKTP_BROKER_DATA_DIR)"
            )
        if formatted is not None and not (self.settings.credentials_path / f"{ADMIN_ROLE}.json").is_file():
            raise BrokerError(
                f"the broker's data in {self.data_dir} was formatted with SCRAM users whose passwords are gone from "
                f"{self.settings.credentials_path}: put that folder back, or give the broker a new data folder"
            )
        if self.settings.topic_replication > wanted:
            raise BrokerError(
                f"EKTP_TOPIC_REPLICATION={self.settings.topic_replication} needs at least that many nodes; "
                f"this broker has {wanted}"
            )

    def _remembered(self) -> dict[str, object]:
        with contextlib.suppress(OSError, ValueError):
            remembered = json.loads(self.cluster_file.read_text())
            if isinstance(remembered, dict):
                return remembered
        return {}

    def _remember_cluster(self) -> str:
        """Write `cluster.json` (the node count and the cluster id every node is formatted with); the id."""
        cluster_id = None
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            cluster_id = str(json.loads(self.cluster_file.read_text())["cluster_id"])
        cluster_id = cluster_id or _formatted_cluster_id(self.nodes[0]) or new_cluster_id()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        remembered = {"nodes": len(self.nodes), "cluster_id": cluster_id, "security": SECURITY}
        self.cluster_file.write_text(json.dumps(remembered) + "\n")
        return cluster_id

    def _format_storage(self, nodes: list[BrokerNode], cluster_id: str) -> None:
        """Format the storage of each node that has none, all at once, with the cluster's one id and its users.

        The SCRAM users go in through an argument file of mode 0600, so no password is on a command line.
        """
        formatting = []
        for node in nodes:
            if node.formatted():
                continue
            arguments = [MAIN_CLASS_STORAGE, "format", "-t", cluster_id, "-c", str(node.properties_file),
                         "--ignore-formatted", *format_arguments(self.credentials)]
            _write_private(node.format_args_file, java_argfile(arguments))
            formatting.append((node, subprocess.Popen(
                self._java(f"@{node.format_args_file}", heap=False, node=node),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )))
        failed = []
        for node, process in formatting:
            output, _ = process.communicate()
            node.format_args_file.unlink(missing_ok=True)
            if process.returncode != 0:
                failed.append(f"node {node.node_id}:\n{output}")
        if failed:
            raise BrokerError("formatting the broker's storage failed:\n" + "\n".join(failed))

    # -- process ----------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The first node's process id while it runs."""
        return self.nodes[0].pid()

    def pids(self) -> dict[str, int]:
        """The running nodes' process ids by name: `broker`, or `broker-1`, `broker-2`... in a cluster."""
        return {node.name: pid for node in self.nodes if (pid := node.pid()) is not None}

    def status(self) -> BrokerStatus:
        """Whether each node's process runs and answers a metadata request; the partitions' replicas."""
        return asyncio.run(self._status())

    async def _status(self) -> BrokerStatus:
        pids = [node.pid() for node in self.nodes]
        answers = await asyncio.gather(*(
            broker_answers(self.settings, node.bootstrap) if pid is not None else _false()
            for node, pid in zip(self.nodes, pids, strict=True)
        ))
        nodes = tuple(
            NodeStatus(node.node_id, node.port, pid, pid is not None, answering,
                       _rss_mb(pid) if pid else None, _uptime_s(pid) if pid else None)
            for node, pid, answering in zip(self.nodes, pids, answers, strict=True)
        )
        answering = [node for node in self.nodes if answers[node.node_id - 1]]
        health: ReplicationHealth | None = None
        if answering:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):  # a node dying right now: say what is known
                health = await replication_health(self.settings, ",".join(node.bootstrap for node in answering))
        running = [node for node in nodes if node.running]
        return BrokerStatus(
            running=bool(running),
            answering=bool(answering),
            pid=running[0].pid if running else None,
            bootstrap_servers=self.settings.bootstrap_servers,
            data_dir=str(self.data_dir),
            rss_mb=sum(node.rss_mb or 0 for node in running) if running else None,
            uptime_s=running[0].uptime_s if running else None,
            nodes=nodes,
            under_replicated=health.under_replicated if health else None,
            offline=health.offline if health else None,
        )

    def start(self) -> float:
        """Start every node that does not run; wait until all answer. Returns the seconds it took (0: all ran).

        Idempotent: a running cluster is left alone, and a node that was killed is started again on its data.
        """
        began = time.monotonic()
        self._check_layout()
        missing = [node for node in self.nodes if node.pid() is None]
        if missing or not asyncio.run(self._all_answer(timeout=5.0)):
            if missing:
                self._launch(missing)
            self._wait_until_answering(began)
        self.last_acl_sync = asyncio.run(sync_acls(self.settings))
        return time.monotonic() - began if missing else 0.0

    def _launch(self, nodes: list[BrokerNode]) -> None:
        for node in nodes:
            extra = [port for port, _protocol in self.extra_listeners.values()] if node.node_id == 1 else []
            for busy in (node.port, node.controller_port, *extra):
                if _port_taken(node.host, busy):
                    raise BrokerError(
                        f"port {node.host}:{busy} of broker node {node.node_id} is taken by another process; stop it "
                        "or set EKTP_KAFKA_PORT / EKTP_BROKER_CONTROLLER_PORT"
                    )
        if not self.jars_present():
            self.fetch_jars()
        cluster_id = self._remember_cluster()
        for node in nodes:
            node.logs_dir.mkdir(parents=True, exist_ok=True)
            _write_private(node.properties_file, self.server_properties(node))
        self._format_storage(nodes, cluster_id)
        for node in nodes:
            with node.stdout_file.open("ab") as output:
                node.process = subprocess.Popen(
                    self._java(MAIN_CLASS, str(node.properties_file), node=node),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: a Ctrl-C in our terminal is not its stop
                )
            node.pid_file.write_text(f"{node.process.pid}\n")

    async def _all_answer(self, timeout: float) -> bool:
        answers = await asyncio.gather(*(
            broker_answers(self.settings, node.bootstrap, timeout=timeout) for node in self.nodes
        ))
        return all(answers)

    def _wait_until_answering(self, began: float) -> None:
        deadline = began + self.settings.broker_start_timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.starting_or_running():
                    raise BrokerError(
                        f"broker node {node.node_id} exited while starting; its log ends:\n{node.log_tail(25)}"
                    )
            if asyncio.run(self._all_answer(timeout=2.0)):
                return
            time.sleep(0.2)
        self.stop()
        tails = "\n".join(f"node {node.node_id}:\n{node.log_tail(25)}" for node in self.nodes)
        raise BrokerError(
            f"the broker did not answer within {self.settings.broker_start_timeout:.0f}s; its log ends:\n{tails}"
        )

    def stop(self) -> bool:
        """Stop every node cleanly: SIGTERM to all at once, wait, then SIGKILL. True when a node was running.

        All at once, because a node's controlled shutdown needs a controller quorum: the last of a cluster
        stopped one by one would find none and wait for it.
        """
        running = [(node, pid) for node in self.nodes if (pid := node.pid()) is not None]
        for _node, pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.broker_stop_timeout
        for _node, pid in running:
            if not _wait_gone(pid, max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 10.0)
        for node in self.nodes:
            node.settle()
        return bool(running)

    def kill_node(self, node_id: int) -> int:
        """SIGKILL node `node_id`, as a power cut would, and wait until it is gone; its pid. `start` brings it back."""
        node = self.nodes[node_id - 1]
        pid = node.pid()
        if pid is None:
            raise BrokerError(f"broker node {node_id} is not running: nothing to kill")
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 10.0)
        node.settle()
        return pid

    def log_tail(self, lines: int) -> str:
        """The last `lines` lines of the broker's log; in a cluster, of each node's under its name."""
        if len(self.nodes) == 1:
            return self.nodes[0].log_tail(lines)
        return "\n".join(f"==> node {node.node_id} ({node.log_file}) <==\n{node.log_tail(lines)}"
                         for node in self.nodes)

    @property
    def log_files(self) -> list[Path]:
        return [node.log_file for node in self.nodes]


async def _false() -> bool:
    return False


def _checked_extra_listeners(
    settings: Settings, nodes: int, extra: dict[str, tuple[int, str]]
) -> dict[str, tuple[int, str]]:
    """`extra` (the comparison broker's listeners, `BrokerLauncher.__init__`) if allowed; else a `BrokerError`."""
    if not extra:
        return extra
    if nodes != 1:
        raise BrokerError(f"extra listeners are for a one-node broker only; this one has {nodes} nodes")
    taken = {settings.kafka_port, settings.broker_controller_port}
    for name, (port, protocol) in extra.items():
        if not name.isidentifier() or not name.isupper() or name in _OWN_LISTENERS:
            raise BrokerError(f"extra listener {name!r}: a name in capitals other than CLIENT and CONTROLLER")
        if protocol not in EXTRA_PROTOCOLS:
            raise BrokerError(f"extra listener {name}: protocol {protocol!r} is none of {', '.join(EXTRA_PROTOCOLS)}")
        if protocol != "SASL_SSL" and not is_loopback(settings.kafka_host):  # as Settings refuses for CLIENT
            raise BrokerError(f"extra listener {name}: {protocol} only on the loopback, not on {settings.kafka_host}")
        if port in taken:
            raise BrokerError(f"extra listener {name}: port {port} is another listener's")
        taken.add(port)
    return extra


def _formatted_cluster_id(node: BrokerNode) -> str | None:
    """The cluster id a node's storage was formatted with, if it was."""
    with contextlib.suppress(OSError):
        for line in (node.kraft_dir / "meta.properties").read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
    return None


def new_cluster_id() -> str:
    """A random UUID in unpadded URL-safe base64, as Kafka makes one; no need to start a JVM for it.

    Like Kafka's `Uuid.randomUuid`, never one that starts with '-': the storage tool would read it as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by this user only from the first byte: it holds passwords."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def _require(tool: str, what: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise PrerequisiteMissing(f"`{tool}` was not found on PATH: the broker needs {what}.")
    return path


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _is_our_broker(pid: int, properties_file: Path) -> bool:
    """The pid runs Kafka with our properties file: a recycled pid is never mistaken for the broker."""
    if _proc_state(pid) in (None, "Z", "X"):
        _reap(pid)
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MAIN_CLASS.encode() in argv and str(properties_file).encode() in argv


def _reap(pid: int) -> None:
    # When this process started the broker (tests do), its exit leaves a zombie until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if _proc_state(pid) in (None, "Z", "X"):
            _reap(pid)
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _uptime_s(pid: int) -> float | None:
    try:
        started_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        system_uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return system_uptime - started_ticks / os.sysconf("SC_CLK_TCK")
