"""Starting the project's processes for a test, and making sure none is left running."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from pathlib import Path

from pipeline.config import Settings
from tests.support.env import settings_env

# faulthandler's first line: the start of the stacks `pipeline.logs.dump_stacks_on_sigquit` writes
THREAD_DUMP = re.compile(r"^(Current thread|Thread) 0x[0-9a-f]+ \(most recent call first\):")


class Process:
    """One `ektp ...` child process with its output in a log file."""

    def __init__(self, name: str, args: list[str], settings: Settings, log_dir: Path) -> None:
        self.name = name
        self.app_id = settings.app_id
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args],
            env=settings_env(settings), stdout=self._log, stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        """The log's last lines; for a process that dumped its stacks, its last lines before and the dump."""
        log = self.log().splitlines()
        dump = next((i for i, line in enumerate(log) if THREAD_DUMP.match(line)), None)
        if dump is None:
            return "\n".join(log[-lines:])
        return "\n".join([*log[max(0, dump - lines):dump], f"[stacks dumped on SIGQUIT, whole in {self.log_path}]",
                          *log[dump:]])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, wait, SIGKILL if it must: nothing is left running."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.send_signal(signal.SIGQUIT)  # a worker dumps every thread's stack into its log
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=2)
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL: the crash a test wants to survive."""
        self.popen.kill()
        self.popen.wait(timeout=10)
        self._log.close()


def worker_ready(process: Process) -> bool:
    """True once the worker's faust has recovered and says "Worker ready"; fails at once if it died."""
    assert process.alive(), process.tail()
    return "Worker ready" in process.log()


def run_ektp(*args: str, settings: Settings, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`ektp ARGS` run to its end with `settings`, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], env=settings_env(settings), capture_output=True, text=True,
        timeout=timeout, check=False,
    )
