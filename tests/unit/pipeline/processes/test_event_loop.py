"""Every process makes its event loops of the kind the settings name: uvloop by default, or Python's own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import pytest
import uvloop

from pipeline.config import Settings
from pipeline.processes.event_loop import event_loop_in_use, use_event_loop


@pytest.fixture(autouse=True)
def policy_restored() -> Iterator[None]:
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


def made_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.close()
    return loop


def test_uvloop_is_the_default() -> None:
    assert Settings().event_loop == "uvloop"


def test_uvloop_makes_every_later_loop_a_uvloop_one() -> None:
    use_event_loop("uvloop")
    assert isinstance(made_loop(), uvloop.Loop)
    assert event_loop_in_use() == "uvloop"


def test_asyncio_goes_back_to_python_s_own_loop() -> None:
    use_event_loop("uvloop")
    use_event_loop("asyncio")
    loop = made_loop()
    assert not isinstance(loop, uvloop.Loop)
    assert isinstance(loop, asyncio.BaseEventLoop)
    assert event_loop_in_use() == "asyncio"


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_the_ektp_command_chooses_the_loop_before_any_command_runs(kind: str) -> None:
    """`ektp` reads EKTP_EVENT_LOOP first thing: a command's `asyncio.run` runs on that loop."""
    probe = (
        "import asyncio, sys\n"
        "import pipeline.cli as cli\n"
        "async def kind():\n"
        "    print(type(asyncio.get_running_loop()).__module__)\n"
        "cli.app = lambda: asyncio.run(kind())\n"
        "cli.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env={"EKTP_EVENT_LOOP": kind, "PATH": ""},
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip().split(".")[0] == kind


def test_a_wrong_setting_is_a_message_not_a_stack_trace() -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline", "--help"], env={"EKTP_EVENT_LOOP": "tokio", "PATH": ""},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "EKTP_" in done.stderr
    assert "event_loop" in done.stderr
    assert "Traceback" not in done.stderr
