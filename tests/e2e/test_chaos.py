"""`ektp chaos` on a small count: every kind of fault injected while requests run, and nothing lost.

The run is a process of its own with a private system (broker, central-sim, worker, station) on free ports;
the invariants come from its JSON verdict, which reads them off the topics and the station's journal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.config import Settings
from tests.support.processes import run_ektp

pytestmark = pytest.mark.e2e

COUNT = 100
FAULT_KINDS = {"worker_sigkill", "station_sigkill_mid_print", "broker_restart", "central_down", "central_hang",
               "desk_offline"}


@pytest.mark.parametrize("workers", [1, 2])
def test_chaos_loses_nothing_and_prints_nothing_twice_under_every_kind_of_fault(tmp_path: Path, workers: int) -> None:
    """Worker SIGKILLed twice (each of two in turn), station SIGKILLed mid-print, broker restarted, central down
    then hanging, the desk cut off from the broker while it records: every request ends terminal, none lost,
    none printed twice, no status moves backwards."""
    finished = run_ektp("chaos", "--count", str(COUNT), "--outage", "2", "--workers", str(workers), "--json",
                        settings=Settings(run_dir=tmp_path / "run"), timeout=420)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-4000:]
    verdict = json.loads(finished.stdout.strip().splitlines()[-1])

    assert verdict["ok"] is True
    assert verdict["failed"] == []
    assert verdict["submitted"] == COUNT
    assert verdict["lost"] == 0
    assert verdict["terminal"] == verdict["requests"] > 0
    assert verdict["double_printed"] == 0
    assert verdict["regressions"] == 0
    assert verdict["order_violations"] == 0
    assert verdict["dlq_pending"] == 0
    assert verdict["cards_printed"] == verdict["final_states"]["COLLECTED"]
    kinds = [fault["kind"] for fault in verdict["faults"]]
    assert set(kinds) == FAULT_KINDS
    assert kinds.count("worker_sigkill") == 2
    killed = [fault["detail"].split()[3] for fault in verdict["faults"] if fault["kind"] == "worker_sigkill"]
    assert killed == (["worker", "worker"] if workers == 1 else ["worker", "worker-2"])
    assert verdict["workers"] == workers
    assert all(fault["at_s"] >= 0 for fault in verdict["faults"])
    assert re.search(r"(?<!\d)\d{16}(?!\d)", output) is None  # no full NIK on the screen or in the logs


def test_chaos_on_a_three_node_cluster_goes_on_while_a_broker_node_is_sigkilled(tmp_path: Path) -> None:
    """With three broker nodes (RF 3, min ISR 2), one is SIGKILLed while a chunk is sent and worked on and started
    again, besides every other fault: every request ends terminal, none lost, none printed twice."""
    finished = run_ektp("chaos", "--count", str(COUNT), "--outage", "2", "--nodes", "3", "--json",
                        settings=Settings(run_dir=tmp_path / "run"), timeout=480)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-4000:]
    verdict = json.loads(finished.stdout.strip().splitlines()[-1])

    assert verdict["ok"] is True
    assert verdict["nodes"] == 3
    assert verdict["lost"] == 0
    assert verdict["terminal"] == verdict["requests"] > 0
    assert verdict["double_printed"] == 0
    assert verdict["regressions"] == 0
    assert verdict["order_violations"] == 0
    assert "broker_node_sigkill" in verdict["fault_kinds"]
    assert set(verdict["fault_kinds"]) == FAULT_KINDS | {"broker_node_sigkill"}
    [node_kill] = [fault for fault in verdict["faults"] if fault["kind"] == "broker_node_sigkill"]
    assert "in sync again" in node_kill["detail"]
