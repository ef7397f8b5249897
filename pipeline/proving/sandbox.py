"""A whole system of its own for one run of `ektp bench` or `ektp chaos`, and for the tests.

Its broker (one node, or a cluster of several), central-sim, worker and station listen on free loopback
ports and keep their data in a temporary folder, so a run never touches the system a person started with
`ektp up`. Leaving the `async with` block stops every process, the broker last, and removes the folder
(unless asked to keep it, or a process had to be killed: its log then ends with its stacks).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
import tempfile
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.broker import BrokerLauncher
from pipeline.config import Settings, min_insync_for, replication_for
from pipeline.errors import EktpError
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.logs import get_logger
from pipeline.processes.supervisor import Supervisor
from pipeline.processes.system import ORDER, services, stopping_order

log = get_logger(__name__)

# A link that gives up fast and a worker that looks at it often, so that outages play out in seconds:
# the whole-system tests, `ektp chaos` and the demo's test use it.
FAST_LINK: dict[str, Any] = {
    "central_timeout": 1.0,
    "central_connect_timeout": 0.5,
    "central_max_attempts": 2,
    "central_backoff_base": 0.05,
    "central_breaker_cooldown": 2.0,
    "dlq_check_interval": 1.0,
}


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10_000


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections as their own (Linux's default where it cannot be read)."""
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


# The ports this process chose lately. A system's ports are chosen before any of its processes listens, so
# "nothing listens on it" cannot tell two choices for the same system apart: this can.
_CHOSEN: deque[int] = deque(maxlen=1024)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now, below the kernel's ephemeral ports, and that
    this process has not chosen lately.

    A process the chaos suite kills is started again on its ports; one in the ephemeral range may meanwhile be
    the source port of any outgoing connection on the machine, and the restart would fail to bind it.
    """
    below = range(LOWEST_PORT, ephemeral_ports().start)
    if len(below) >= 1000:
        for _attempt in range(100):
            port = below.start + secrets.randbelow(len(below))
            if port not in _CHOSEN and _bindable(port):
                _CHOSEN.append(port)
                return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            chosen: int = probe.getsockname()[1]
        if chosen not in _CHOSEN:
            _CHOSEN.append(chosen)
            return chosen


# Each node of a cluster on one small machine needs little heap for a private system's load.
CLUSTER_NODE_HEAP = "256m"


def free_ports_in_a_row(count: int, *, avoid: range = range(0)) -> int:
    """The first of `count` consecutive loopback ports that nothing listens on right now, none in `avoid`.

    A broker's nodes take consecutive ports (`kafka_port + i - 1`), so a cluster needs a run of free ones.
    """
    for _attempt in range(200):
        first = free_port()
        run = range(first, first + count)
        if (run[-1] <= 65535 and not (set(run) & set(avoid))
                and all(port not in _CHOSEN and _bindable(port) for port in run[1:])):
            _CHOSEN.extend(run[1:])
            return first
    raise EktpError(f"found no {count} free consecutive ports on loopback")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def private_settings(run_dir: Path, **overrides: Any) -> Settings:
    """Settings for a system of its own: every listener on a free port, every folder under `run_dir`.

    Its broker has `broker_nodes` nodes (1 unless given), whatever the environment says; with more than one, they
    take runs of consecutive free ports and a smaller heap each, and the topics are replicated as on any cluster
    of that size.
    """
    nodes = int(overrides.get("broker_nodes", 1))
    replication = replication_for(nodes)
    kafka_port = free_ports_in_a_row(nodes)
    values: dict[str, Any] = {
        "kafka_port": kafka_port,
        "broker_controller_port": free_ports_in_a_row(nodes, avoid=range(kafka_port, kafka_port + nodes)),
        "broker_nodes": nodes,
        "topic_replication": replication,
        "topic_min_insync": min_insync_for(replication),
        "run_dir": run_dir,
        "worker_metrics_port": free_port(),
        "station_metrics_port": free_port(),
        "dashboard_port": free_port(),
        "dashboard_metrics_port": free_port(),
        "central_url": f"http://127.0.0.1:{free_port()}",
        "central_admin_url": f"http://127.0.0.1:{free_port()}",
    }
    if nodes > 1:
        values["broker_heap"] = CLUSTER_NODE_HEAP
    values.update(overrides)
    return Settings(**values)


class Sandbox:
    """`async with Sandbox(...) as settings:` a running private system; everything stops on the way out.

    `only` limits the services started (names from `pipeline.processes.system.ORDER`; the broker always starts);
    `workers` is how many workers start when `worker` is among them; `nodes` how many nodes the broker has (with 3,
    topics are replicated 3 times with `min.insync.replicas` 2). `launcher.kill_node(i)` SIGKILLs node i of a
    cluster and `launcher.start()` starts it again on its data.
    """

    def __init__(
        self,
        *,
        station: str = "TPI-01",
        central_flags: tuple[str, ...] = (),
        only: tuple[str, ...] | None = None,
        workers: int = 1,
        nodes: int = 1,
        keep: bool = False,
        **overrides: Any,
    ) -> None:
        self.station = station
        self.central_flags = central_flags
        self.only = only
        self.workers = workers
        self.nodes = nodes
        self.keep = keep
        self.overrides = overrides
        self.folder = Path(tempfile.mkdtemp(prefix="ektp-sandbox-"))
        self.settings = private_settings(self.folder / "run", broker_nodes=nodes, **overrides)
        self.launcher = BrokerLauncher(self.settings)
        self.supervisor = Supervisor(self.settings)

    async def __aenter__(self) -> Settings:
        try:
            await asyncio.to_thread(self.launcher.start)
            await ensure_topics(self.settings, role=ADMIN_ROLE)
            every = services(self.settings, station=self.station, central_flags=self.central_flags,
                             workers=self.workers)
            for service in every:
                base = "worker" if service.name.startswith("worker") else service.name
                if self.only is None or base in self.only:
                    await self.supervisor.start(service)
        except BaseException:
            self.close()
            raise
        return self.settings

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop every service in reverse order, then the broker; remove the folder unless it is kept."""
        for name in stopping_order([*ORDER, *self.supervisor.running(), *self.supervisor.started]):
            self.supervisor.stop(name)
        self.launcher.stop()
        if self.supervisor.killed:  # what they were stuck on is in their logs: keep them for a person to read
            log.warning("kept the private system's folder: a service did not stop on SIGTERM",
                        killed=self.supervisor.killed, folder=str(self.folder))
        elif not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
