"""`ektp up` starts everything and waits until it answers; `ektp down` stops it all, leaving nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.broker import BrokerLauncher
from pipeline.processes.supervisor import Supervisor
from tests.support.env import broker_settings, free_port
from tests.support.processes import run_ektp

pytestmark = pytest.mark.e2e


def test_up_starts_every_process_and_down_stops_them_all(run_dir: Path) -> None:
    """After `up` the broker and the five processes run and answer; after `down` none is left."""
    settings = broker_settings(run_dir).model_copy(update={
        "central_url": f"http://127.0.0.1:{free_port()}", "central_admin_url": f"http://127.0.0.1:{free_port()}",
        "worker_metrics_port": free_port(), "station_metrics_port": free_port(),
    })
    supervisor = Supervisor(settings)
    try:
        started = run_ektp("up", "--station", "TPI-UP", settings=settings, timeout=240)
        assert started.returncode == 0, started.stdout + started.stderr
        assert supervisor.running() == ["central-sim", "dashboard", "desk", "station", "worker"]
        assert BrokerLauncher(settings).status().up
        again = run_ektp("up", "--station", "TPI-UP", settings=settings, timeout=240)
        assert again.returncode == 0
        assert again.stdout.count("already running") == 6, again.stdout
    finally:
        stopped = run_ektp("down", settings=settings, timeout=240)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert supervisor.running() == []
    assert not BrokerLauncher(settings).status().running
