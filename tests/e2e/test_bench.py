"""`ektp bench --json` on a small count: a whole private system, every request collected, a well-formed result.

Figures are never asserted against thresholds (the machine decides them); only that they exist and are
positive, that every request sent was collected, and that the result was saved with the machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.proving.bench.relay import PIPELINE_HOPS
from pipeline.proving.bench.security import RECORDS as SECURITY_RECORDS
from pipeline.proving.bench.security import ROUNDS as SECURITY_ROUNDS
from tests.support.processes import run_ektp

pytestmark = pytest.mark.e2e

COUNT = 60
WARM_UP = 80  # the first 50 (every one collected, or the bench stops), then 30 more at full load


def test_bench_collects_every_request_and_reports_its_figures(tmp_path: Path) -> None:
    results = tmp_path / "results"
    finished = run_ektp("bench", "--count", str(COUNT), "--dlq-count", "20", "--warm-up", str(WARM_UP), "--json",
                        "--results-dir", str(results),
                        settings=Settings(run_dir=tmp_path / "run"), timeout=300)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-4000:]
    result = json.loads(finished.stdout.strip().splitlines()[-1])

    assert result["count"] == COUNT
    assert result["settings"]["warm_up"] == WARM_UP
    assert result["collected"] == COUNT
    assert result["final_states"] == {"COLLECTED": COUNT}
    for figure in ("throughput_rps", "baseline_rps", "ratio", "dlq_drain_rps", "faust_relay_rps",
                   "share_of_faust_relay", "records_per_request", "worker_cpu_ms_per_request"):
        assert result[figure] > 0, figure
    assert result["workers"] == 1
    by_process = result["cpu_ms_per_request_by_process"]
    assert {"worker", "station", "central-sim", "broker", "bench"} <= set(by_process)
    assert by_process["worker"] == pytest.approx(result["worker_cpu_ms_per_request"], abs=0.01)
    assert result["cost"]["records"] >= COUNT * 8, "every request writes at least its contract topics"
    assert 0 < result["latency_steady_ms"]["p50"] <= result["latency_steady_ms"]["p99"]
    assert result["steady"]["collected"] == result["steady"]["count"] > 0
    assert "PRINT_QUEUED->PRINTED" in result["steady"]["steps_latency_ms"]
    assert set(result["latency_ms"]) >= {"p50", "p95", "p99"}
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p95"] <= result["latency_ms"]["p99"]
    assert "READY_FOR_PICKUP->COLLECTED" in result["steps_latency_ms"]
    assert result["baseline"]["hops"] == result["faust_relay"]["hops"] == PIPELINE_HOPS
    assert result["faust_relay"]["count"] == COUNT
    assert result["dlq"]["count"] == 20
    assert result["machine"]["cpu_count"] >= 1
    assert result["machine"]["kafka_version"]
    assert result["machine"]["file_create_cpu_ms_at_start"] >= 0

    # The main run is authenticated; the comparison broker relays the same records in each mode.
    assert result["kafka_security"] == "SASL_PLAINTEXT/SCRAM-SHA-512"
    security = result["security"]
    for mode in ("plaintext", "scram", "scram_tls"):
        assert security[mode]["relay_rps"] > 0, mode
        assert security[mode]["client_cpu_ms_per_1000"] > 0, mode
        assert 0 < security[mode]["connect_ms_p50"] <= security[mode]["connect_ms_p95"], mode
        assert security[mode]["records"] == len(SECURITY_ROUNDS) * SECURITY_RECORDS, mode
    assert security["scram_relay_cost"] > 0
    assert security["tls_relay_cost"] > 0
    assert security["hops"] == PIPELINE_HOPS

    [saved] = results.glob("*.json")
    assert json.loads(saved.read_text()) == result
