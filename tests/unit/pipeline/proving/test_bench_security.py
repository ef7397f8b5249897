"""The security phase's figures and their place in the bench's result, without a broker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.proving.bench.cost import Cost
from pipeline.proving.bench.endtoend import EndToEndBench
from pipeline.proving.bench.relay import PIPELINE_HOPS, RelayBench
from pipeline.proving.bench.run import BenchPlan, result_of
from pipeline.proving.bench.security import (
    MODES,
    ORDER,
    ROUNDS,
    ComparisonBroker,
    ModeBench,
    SecurityBench,
    records_of,
)

MODE_FIGURES = {"relay_rps", "connect_ms_p50", "connect_ms_p95", "client_cpu_ms_per_1000"}


def relay(count: int, seconds: float, cpu_seconds: float) -> RelayBench:
    return RelayBench(count=count, hops=PIPELINE_HOPS, seconds=seconds, cpu_seconds=cpu_seconds)


def mode(rps: float, connect_ms: float = 5.0) -> ModeBench:
    """Two runs of 1000 records at `rps` (each 0.1 s of CPU), 20 connections of `connect_ms`."""
    return ModeBench((relay(1000, 1000 / rps, 0.1),) * 2, (connect_ms / 1000,) * 20)


def test_a_mode_counts_both_its_runs_and_shares_cpu_out_per_thousand_records() -> None:
    """Throughput is all records over all seconds (not the mean of the runs' rates); CPU per 1000 records."""
    figures = ModeBench((relay(3000, 1.0, 0.3), relay(3000, 2.0, 0.6)), tuple(n / 1000 for n in range(1, 21)))
    assert figures.records == 6000
    assert figures.relay_rps == pytest.approx(2000.0)
    assert figures.client_cpu_ms_per_1000 == pytest.approx(150.0)
    assert figures.connect_ms(50) == pytest.approx(10.0)
    assert figures.connect_ms(95) == pytest.approx(19.0)
    shown = figures.as_json()
    assert set(shown) >= MODE_FIGURES
    assert shown["relay_rps_runs"] == [3000.0, 1500.0]
    assert ModeBench((), ()).as_json() == {"relay_rps": 0.0, "connect_ms_p50": 0.0, "connect_ms_p95": 0.0,
                                          "client_cpu_ms_per_1000": 0.0, "relay_rps_runs": [], "records": 0}


def test_the_costs_are_each_secure_modes_throughput_over_plaintexts() -> None:
    bench = SecurityBench({"plaintext": mode(4000, 3.0), "scram": mode(3800, 8.0), "scram_tls": mode(3000, 20.0)})
    result = bench.as_json()
    assert {"plaintext", "scram", "scram_tls", "scram_relay_cost", "tls_relay_cost"} <= set(result)
    for name in MODES:
        assert set(result[name]) >= MODE_FIGURES, name
    assert result["scram_relay_cost"] == pytest.approx(0.95)
    assert result["tls_relay_cost"] == pytest.approx(0.75)
    assert result["scram"]["relay_rps"] == pytest.approx(3800.0)
    assert result["scram_tls"]["connect_ms_p50"] == result["scram_tls"]["connect_ms_p95"] == pytest.approx(20.0)
    assert result["hops"] == PIPELINE_HOPS
    assert result["connects"] == 20
    assert result["protocols"]["scram_tls"] == "SASL_SSL/SCRAM-SHA-512"
    assert bench.summary() == ("plaintext 4000/s, SCRAM 3800/s, SCRAM+TLS 3000/s; connect 3/8/20 ms; "
                               "client CPU 100/100/100 ms per 1000 records")


def test_plaintext_that_relayed_nothing_gives_no_ratio_rather_than_a_division_by_zero() -> None:
    bench = SecurityBench({"plaintext": ModeBench((), ()), "scram": mode(10), "scram_tls": mode(10)})
    assert bench.as_json()["scram_relay_cost"] == bench.as_json()["tls_relay_cost"] == 0.0


def test_each_round_runs_every_mode_once_and_each_mode_leads_one_round() -> None:
    """A change of the machine's speed between rounds favours no mode: the ratios are taken within a round."""
    assert all(sorted(round_) == sorted(MODES) for round_ in ROUNDS)
    assert sorted(round_[0] for round_ in ROUNDS) == sorted(MODES)
    assert list(ORDER) == [mode for round_ in ROUNDS for mode in round_]


def test_the_cost_is_the_median_of_the_rounds_ratios_so_a_slow_round_does_not_skew_it() -> None:
    """Plaintext's first round ran before the machine slowed down, TLS's after: within each round they compare."""
    plain = ModeBench((relay(4000, 1.0, 0.1), relay(2000, 1.0, 0.1), relay(2000, 1.0, 0.1)), (0.003,))
    tls = ModeBench((relay(1800, 1.0, 0.1), relay(1500, 1.0, 0.1), relay(1600, 1.0, 0.1)), (0.02,))
    bench = SecurityBench({"plaintext": plain, "scram": plain, "scram_tls": tls})
    assert bench.relay_cost("scram_tls") == pytest.approx(0.75)  # the rounds give 0.45, 0.75, 0.8
    assert bench.relay_cost("scram") == pytest.approx(1.0)


def test_the_phase_relays_a_fixed_number_of_records_taken_from_the_payloads_again_when_they_run_out() -> None:
    payloads: list[tuple[bytes | None, bytes]] = [(b"a", b"1"), (None, b"2"), (b"c", b"3")]
    assert records_of(payloads, 7) == [*payloads, *payloads, payloads[0]]
    assert records_of(payloads, 2) == payloads[:2]
    assert records_of([], 5) == []


def test_the_comparison_broker_has_its_own_folder_and_ports_and_its_three_listeners(tmp_path: Path) -> None:
    """Nothing started: the listeners, the clients' options for each mode, and what it takes from the settings."""
    base = Settings(run_dir=tmp_path, topic_partitions=4, broker_libs_dir=tmp_path / "libs")
    broker = ComparisonBroker(base)
    try:
        assert broker.folder != tmp_path
        assert broker.settings.run_dir == broker.folder / "run"
        assert broker.settings.topic_partitions == 4
        assert broker.settings.broker_libs_path == tmp_path / "libs"
        assert broker.settings.broker_heap == "384m"
        assert len({broker.ports["CLIENT"], broker.ports["OPEN"], broker.ports["SECURE"],
                    broker.settings.broker_controller_port}) == 4
        assert broker.launcher.extra_listeners == {"OPEN": (broker.ports["OPEN"], "PLAINTEXT"),
                                                   "SECURE": (broker.ports["SECURE"], "SASL_SSL")}
        assert broker.options("plaintext") == {"bootstrap_servers": f"127.0.0.1:{broker.ports['OPEN']}",
                                               "security_protocol": "PLAINTEXT"}
        broker.launcher.credentials  # noqa: B018 (made as the broker would make them when it starts)
        scram = broker.options("scram")
        assert scram["bootstrap_servers"] == f"127.0.0.1:{broker.ports['CLIENT']}"
        assert (scram["security_protocol"], scram["sasl_mechanism"], scram["sasl_plain_username"]) == (
            "SASL_PLAINTEXT", "SCRAM-SHA-512", "admin")
    finally:
        broker.close()
    assert not broker.folder.exists()


def test_the_result_names_the_main_runs_security_and_holds_the_comparison_or_none() -> None:
    settings = Settings(run_dir=Path("/nonexistent"))
    bench = SecurityBench({"plaintext": mode(4000), "scram": mode(4000), "scram_tls": mode(2000)})
    pipeline = EndToEndBench(count=10, collected=10, seconds=1.0, latency_ms={"p50": 1.0}, steps_ms={})
    relay_bench = relay(10, 0.01, 0.0)

    def result(security: SecurityBench | None) -> dict[str, object]:
        return result_of(BenchPlan(count=10, dlq_count=5, timeout=60.0), settings, dt.datetime.now(dt.UTC), {},
                         pipeline, relay_bench, relay_bench, 5, 1.0, 1.0, cost=Cost(records=160, cpu_seconds=0.03,
                         requests=10), steady=pipeline, steady_rate=5.0, security=security)

    measured = result(bench)
    assert measured["kafka_security"] == "SASL_PLAINTEXT/SCRAM-SHA-512"
    assert measured["security"] == bench.as_json()
    assert {"throughput_rps", "baseline_rps", "ratio", "faust_relay_rps", "dlq_drain_rps"} <= set(measured)
    assert result(None)["security"] is None
    off_the_loopback = Settings(run_dir=Path("/nonexistent"), kafka_host="10.1.2.3")
    assert result_of(BenchPlan(count=10, dlq_count=5, timeout=60.0), off_the_loopback, dt.datetime.now(dt.UTC), {},
                     pipeline, relay_bench, relay_bench, 5, 1.0, 1.0, cost=Cost(records=160, cpu_seconds=0.03,
                     requests=10), steady=pipeline, steady_rate=5.0)["kafka_security"] == "SASL_SSL/SCRAM-SHA-512"
