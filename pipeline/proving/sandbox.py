"""A whole system of its own for one run of `ektp bench` or `ektp chaos`, and for the tests.

Its broker, central-sim, worker and station listen on free loopback ports and keep their data in a
temporary folder, so a run never touches the system a person started with `ektp up`. Leaving the
`async with` block stops every process, the broker last, and removes the folder (unless asked to keep it,
or a process had to be killed: its log then ends with its stacks).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.broker import BrokerLauncher
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
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


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def private_settings(run_dir: Path, **overrides: Any) -> Settings:
    """Settings for a system of its own: every listener on a free port, every folder under `run_dir`."""
    values: dict[str, Any] = {
        "kafka_port": free_port(),
        "broker_controller_port": free_port(),
        "run_dir": run_dir,
        "worker_metrics_port": free_port(),
        "station_metrics_port": free_port(),
        "dashboard_port": free_port(),
        "central_url": f"http://127.0.0.1:{free_port()}",
        "central_admin_url": f"http://127.0.0.1:{free_port()}",
    }
    values.update(overrides)
    return Settings(**values)


class Sandbox:
    """`async with Sandbox(...) as settings:` a running private system; everything stops on the way out.

    `only` limits the services started (names from `pipeline.processes.system.ORDER`; the broker always starts);
    `workers` is how many workers start when `worker` is among them.
    """

    def __init__(
        self,
        *,
        station: str = "TPI-01",
        central_flags: tuple[str, ...] = (),
        only: tuple[str, ...] | None = None,
        workers: int = 1,
        keep: bool = False,
        **overrides: Any,
    ) -> None:
        self.station = station
        self.central_flags = central_flags
        self.only = only
        self.workers = workers
        self.keep = keep
        self.overrides = overrides
        self.folder = Path(tempfile.mkdtemp(prefix="ektp-sandbox-"))
        self.settings = private_settings(self.folder / "run", **overrides)
        self.launcher = BrokerLauncher(self.settings)
        self.supervisor = Supervisor(self.settings)

    async def __aenter__(self) -> Settings:
        try:
            await asyncio.to_thread(self.launcher.start)
            await ensure_topics(self.settings)
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
