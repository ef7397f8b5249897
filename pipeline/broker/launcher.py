"""A single-node Apache Kafka broker (KRaft, broker and controller in one JVM) that the project runs itself.

The jars come from Maven Central through `pom.xml` beside this file; the broker runs with plain `java`,
detached, with its pid, configuration, logs and data in one folder (`Settings.broker_data_path`), which
persists across restarts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import BrokerError, PrerequisiteMissing
from pipeline.kafka.admin import broker_answers

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J2 = HERE / "log4j2.properties"
MAIN_CLASS = "kafka.Kafka"


@dataclass(frozen=True)
class BrokerStatus:
    """The truth about the broker: its process and whether it answers."""

    running: bool
    answering: bool
    pid: int | None
    bootstrap_servers: str
    data_dir: str
    rss_mb: float | None = None
    uptime_s: float | None = None

    @property
    def up(self) -> bool:
        return self.running and self.answering


class BrokerLauncher:
    """Fetch, start, stop and inspect the project's own Kafka broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.broker_data_path
        self.libs_dir = settings.broker_libs_path
        self.kraft_dir = self.data_dir / "kraft"
        self.logs_dir = self.data_dir / "logs"
        self.properties_file = self.data_dir / "server.properties"
        self.pid_file = self.data_dir / "broker.pid"
        self.stdout_file = self.logs_dir / "stdout.log"
        self._process: subprocess.Popen[bytes] | None = None  # set when this launcher started it

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

    def server_properties(self) -> str:
        """server.properties for one node, from the settings."""
        s = self.settings
        host, port, controller = s.kafka_host, s.kafka_port, s.broker_controller_port
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{host}:{controller}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.kraft_dir),
            "num.partitions": str(s.topic_partitions),
            # Topics come from the registry (`ektp topics create`), never from a typo in a client.
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.cleaner.dedupe.buffer.size": "2097152",
        }
        return "".join(f"{key}={value}\n" for key, value in lines.items())

    def _java(self, *args: str, heap: bool = True) -> list[str]:
        java = _require("java", "a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)")
        options = [
            f"-Dlog4j2.configurationFile={LOG4J2}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-Djava.awt.headless=true",
        ]
        if heap:
            size = self.settings.broker_heap
            options += [f"-Xms{size}", f"-Xmx{size}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
        return [java, *options, "-cp", str(self.libs_dir / "*"), *args]

    def _format_storage(self) -> None:
        if (self.kraft_dir / "meta.properties").is_file():
            return
        command = self._java(
            "kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(self.properties_file),
            "--ignore-formatted", heap=False,
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"formatting the broker's storage failed:\n{result.stdout}{result.stderr}")

    # -- process ----------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._pid()

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_our_broker(pid, self.properties_file) else None

    def status(self) -> BrokerStatus:
        """Whether the broker process runs and answers a metadata request."""
        pid = self._pid()
        answering = pid is not None and asyncio.run(broker_answers(self.settings.bootstrap_servers))
        return BrokerStatus(
            running=pid is not None,
            answering=answering,
            pid=pid,
            bootstrap_servers=self.settings.bootstrap_servers,
            data_dir=str(self.data_dir),
            rss_mb=_rss_mb(pid) if pid else None,
            uptime_s=_uptime_s(pid) if pid else None,
        )

    def start(self) -> float:
        """Start the broker unless it runs; wait until it answers. Returns the seconds it took."""
        began = time.monotonic()
        if self._pid() is not None:
            if asyncio.run(broker_answers(self.settings.bootstrap_servers)):
                return 0.0
        else:
            self._launch()
        self._wait_until_answering(began)
        return time.monotonic() - began

    def _launch(self) -> None:
        host, port = self.settings.kafka_host, self.settings.kafka_port
        for busy in (port, self.settings.broker_controller_port):
            if _port_taken(host, busy):
                raise BrokerError(
                    f"port {host}:{busy} is taken by another process; stop it or set EKTP_KAFKA_PORT / "
                    "EKTP_BROKER_CONTROLLER_PORT"
                )
        if not self.jars_present():
            self.fetch_jars()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(self.server_properties())
        self._format_storage()
        with self.stdout_file.open("ab") as output:
            process = subprocess.Popen(
                self._java(MAIN_CLASS, str(self.properties_file)),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a Ctrl-C in our terminal is not its stop
            )
        self.pid_file.write_text(f"{process.pid}\n")
        self._process = process

    def _wait_until_answering(self, began: float) -> None:
        deadline = began + self.settings.broker_start_timeout
        while time.monotonic() < deadline:
            if not self._starting_or_running():
                raise BrokerError(f"the broker exited while starting; its log ends:\n{self.log_tail(25)}")
            if asyncio.run(broker_answers(self.settings.bootstrap_servers, timeout=2.0)):
                return
            time.sleep(0.2)
        self.stop()
        raise BrokerError(
            f"the broker did not answer within {self.settings.broker_start_timeout:.0f}s; "
            f"its log ends:\n{self.log_tail(25)}"
        )

    def _starting_or_running(self) -> bool:
        # Right after the fork, /proc shows our own command line until `java` is exec'ed: ask the child.
        if self._process is not None:
            return self._process.poll() is None
        return self._pid() is not None

    def stop(self) -> bool:
        """Stop the broker cleanly: SIGTERM, wait, then SIGKILL. True when a broker was running."""
        pid = self._pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, self.settings.broker_stop_timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10.0)
        if self._process is not None:
            self._process.wait()  # already reaped or gone: this only settles the Popen object
            self._process = None
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int) -> str:
        """The last `lines` lines of the broker's log (its stdout when the log is empty)."""
        for source in (self.logs_dir / "server.log", self.stdout_file):
            if source.is_file() and source.stat().st_size:
                return "\n".join(source.read_text(errors="replace").splitlines()[-lines:])
        return "(no log yet)"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "server.log"


def new_cluster_id() -> str:
    """A random UUID in unpadded URL-safe base64, as Kafka makes one; no need to start a JVM for it.

    Like Kafka's `Uuid.randomUuid`, never one that starts with '-': the storage tool would read it as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


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
    while time.monotonic() < deadline:
        _reap(pid)
        if _proc_state(pid) in (None, "Z", "X"):
            _reap(pid)
            return True
        time.sleep(0.1)
    return False


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
