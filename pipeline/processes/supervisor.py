"""`ektp up|down`: every process of the pipeline in the background, with pid files and logs in one run
folder (`<run_dir>/pids`, `<run_dir>/logs`), started in order and waited for until each answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.logs import get_logger

log = get_logger(__name__)
Probe = Callable[[], Awaitable[bool]]

# Every process a supervisor of this process started, by pid, until its exit is collected. One supervisor may stop
# what another started (`ektp demo`'s `up` and `down`, the tests' fixtures): whichever finds it ended collects it
# through its `Popen`, which otherwise would warn, as it is collected, that a process long gone still runs.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Service:
    """One background process: how to start it and how to know it is ready."""

    name: str
    argv: list[str]
    ready: Probe
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Running:
    name: str
    pid: int
    started: bool


class Supervisor:
    """Start, stop and inspect the background processes of one run folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pids = settings.run_dir / "pids"
        self.logs = settings.run_dir / "logs"
        self._children: dict[str, subprocess.Popen[bytes]] = {}  # started here: kept, reaped on stop
        self.killed: list[str] = []  # services stop() had to kill: their logs end with their stacks

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_of(self, name: str) -> int | None:
        """The pid of `name` when that very process runs (a recycled pid is never taken for it)."""
        try:
            record = json.loads((self.pids / f"{name}.json").read_text())
        except (OSError, ValueError):
            return None
        pid, argv = int(record["pid"]), record["argv"]
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                _reap(pid)
                return None
            cmdline = command_line(pid)
        except OSError:
            return None
        return pid if cmdline == argv else None

    async def start(self, service: Service, *, timeout: float = 90.0) -> Running:
        """Start `service` unless it runs, then wait until it is ready; the log says why when it is not."""
        pid = self.pid_of(service.name)
        started = pid is None
        if pid is None:
            self._forget_ended(service.name)
            self.pids.mkdir(parents=True, exist_ok=True)
            self.logs.mkdir(parents=True, exist_ok=True)
            with self.log_path(service.name).open("ab") as log:
                process = subprocess.Popen(  # noqa: ASYNC220 (a fork and exec: no waiting on the child)
                    service.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, **service.environment}, start_new_session=True,
                )
            pid = process.pid
            self._children[service.name] = process
            _STARTED[pid] = process
            (self.pids / f"{service.name}.json").write_text(json.dumps({"pid": pid, "argv": service.argv}))
        deadline = time.monotonic() + timeout
        while not await service.ready():
            if self.pid_of(service.name) is None and started and _exited(pid):
                raise EktpError(f"{service.name} exited while starting; its log ends:\n{self.tail(service.name)}")
            if time.monotonic() > deadline:
                raise EktpError(f"{service.name} not ready within {timeout:.0f}s; its log ends:\n"
                                f"{self.tail(service.name)}")
            await asyncio.sleep(0.2)
        return Running(service.name, pid, started)

    def stop(self, name: str, *, timeout: float = 30.0) -> bool:
        """SIGTERM, wait, then SIGKILL; True when it was running."""
        pid = self.pid_of(name)
        (self.pids / f"{name}.json").unlink(missing_ok=True)
        if pid is None:
            self._forget_ended(name)  # it exited on its own
            return False
        self._children.pop(name, None)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        if not _wait_exit(pid, timeout):
            log.warning("did not stop on SIGTERM: its threads' stacks go to its log, then SIGKILL",
                        service=name, waited_s=timeout, log=str(self.log_path(name)))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGQUIT)  # the worker and the station dump their stacks
            _wait_exit(pid, 2.0)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_exit(pid, 10.0)
            self.killed.append(name)
        _reap(pid)
        return True

    def _forget_ended(self, name: str) -> None:
        """Forget the child `name` that ended without `stop` (SIGKILLed, crashed); its exit is collected."""
        child = self._children.pop(name, None)
        if child is not None:
            _reap(child.pid)

    @property
    def started(self) -> list[str]:
        """Names of the services this supervisor started and has not stopped yet, running or not."""
        return list(self._children)

    def running(self) -> list[str]:
        """Names of the services whose process runs now."""
        if not self.pids.is_dir():
            return []
        return sorted(path.stem for path in self.pids.glob("*.json") if self.pid_of(path.stem) is not None)

    def tail(self, name: str, lines: int = 25) -> str:
        path = self.log_path(name)
        if not path.is_file():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    if state == "Z":
        _reap(pid)
        return True
    return False


# A process shows an empty command line for a moment after its exec has begun: `Popen` returns once the exec is
# past its point of no return, before the new program's arguments are in place.
EXEC_SETTLE = 0.5  # seconds an empty command line is read again before it is taken as it is


def command_line(pid: int) -> list[str]:
    """The argv of process `pid` (`/proc/<pid>/cmdline`), read again while it is empty, for at most `EXEC_SETTLE`."""
    deadline = time.monotonic() + EXEC_SETTLE
    while True:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        if parts or time.monotonic() >= deadline:
            return [part.decode() for part in parts]
        time.sleep(0.001)


def _reap(pid: int) -> None:
    """Collect the exit of `pid`, which has ended, through its `Popen` when a supervisor here started it."""
    child = _STARTED.pop(pid, None)
    if child is None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    elif child.poll() is None:
        _STARTED[pid] = child  # not ended after all (SIGKILL not yet through): kept until it is


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exited(pid):
            return True
        time.sleep(0.1)
    return False
