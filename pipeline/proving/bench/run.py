"""`ektp bench`: one private system (pipeline.proving.sandbox), six measurements, one result saved with the machine.

In order, after a warm-up at full load (the broker's JVM compiles its hot paths in its first thousands of
requests): the end-to-end run at full load (`endtoend.py`) with what each request cost in records and worker CPU
(`cost.py`), the latency at a steady half of that throughput, the baseline relay of the same payloads
(`relay.py`) while the pipeline is idle, the same relay through faust agents that only forward
(`faust_relay.py`), and the drain of a dead-letter backlog (`dlq.py`). Central-sim answers at once and without
a rate limit, the station writes placeholder cards (`--instant`), so the figures are the pipeline's own. Last,
once the private system has stopped, what SCRAM and TLS cost the same relay beside plaintext, on a comparison
broker of its own (`security.py`; `--no-security` skips it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.common import WIB
from pipeline.config import Settings, project_root
from pipeline.errors import EktpError
from pipeline.kafka.security import SCRAM_MECHANISM, security_protocol
from pipeline.proving.bench.cost import Cost, CostMeter
from pipeline.proving.bench.dlq import bench_dlq
from pipeline.proving.bench.endtoend import EndToEndBench, bench_end_to_end
from pipeline.proving.bench.faust_relay import bench_faust_relay
from pipeline.proving.bench.machine import describe_machine
from pipeline.proving.bench.relay import PIPELINE_HOPS, RelayBench, bench_relay
from pipeline.proving.bench.security import SecurityBench, bench_security, records_of
from pipeline.proving.sandbox import Sandbox
from pipeline.proving.synthetic import GeneratedSubmission, generate_submissions
from pipeline.station.inventory import restock

STATION = "TPI-BENCH"
# central-sim at zero latency and without its rate limit: the pipeline, not central, is measured.
CENTRAL_FLAGS = ("--latency-ms", "0", "--jitter-ms", "0", "--rate-per-second", "0")
# Before the clock starts, a first few requests must all be collected (connections, keys, the group's assignment:
# a system that stalls here is broken, not slow), then the rest of the warm-up runs at full load: the broker's
# JVM keeps compiling its hot paths (C1, then C2) through its first several thousand requests, and a window
# measured while it does so counts that compilation in every figure.
FIRST_WARM_UP = 50
FIRST_WARM_UP_TIMEOUT = 90.0
DEFAULT_WARM_UP = 15000
SERVICES = ("central-sim", "worker", "station")  # no dashboard: it would take CPU from what is measured
STEADY_SECONDS = 20.0  # how long the steady half-load phase sends for
STEADY_MIN = 50  # requests in the steady phase at the least


@dataclass(frozen=True)
class BenchPlan:
    """What one `ektp bench` run does."""

    count: int
    dlq_count: int
    timeout: float
    rate: float | None = None
    partitions: int | None = None
    workers: int = 1
    nodes: int = 1  # broker nodes; 3: topics replicated 3 times, min.insync.replicas 2
    keep: bool = False  # keep the sandbox's folder (logs, journals) after the run
    warm_up: int = DEFAULT_WARM_UP  # requests sent and collected before the clock starts
    security: bool = True  # measure what SCRAM and TLS cost beside plaintext, on a comparison broker

    def overrides(self) -> dict[str, Any]:
        """Settings of the bench's private system beyond the defaults."""
        values: dict[str, Any] = {
            "station_instant": True,
            # Replay as fast as the worker can (the default protects a real central) and notice the link soon.
            "dlq_replay_rate": 100_000.0,
            "dlq_check_interval": 1.0,
            "central_breaker_cooldown": 2.0,
        }
        if self.partitions:
            values["topic_partitions"] = self.partitions
        return values


async def run_bench(plan: BenchPlan, *, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Start a private system, measure, stop it; the result as a JSON-able dict."""
    started = dt.datetime.now(dt.UTC)
    say(f"starting a private system (broker of {plan.nodes} node(s), central-sim, {plan.workers} worker(s), "
        f"station {STATION})")
    sandbox = Sandbox(station=STATION, central_flags=CENTRAL_FLAGS, only=SERVICES, workers=plan.workers,
                      nodes=plan.nodes, keep=plan.keep, **plan.overrides())
    if plan.keep:
        say(f"the system's folder is kept: {sandbox.folder}")
    async with sandbox as settings:
        machine = describe_machine(settings, workers=plan.workers)
        steady_most = STEADY_MIN + int(plan.count / 2)  # at half the throughput for STEADY_SECONDS, at most this
        await restock(settings, STATION, plan.warm_up + plan.count + steady_most + plan.dlq_count + 10)
        say(f"generating {plan.count} valid submissions")
        submissions = generate_submissions(plan.warm_up + plan.count + steady_most, seed=secrets.randbelow(2**31),
                                           today=dt.datetime.now(WIB).date())
        await warm_up(sandbox, settings, submissions[:plan.warm_up], timeout=plan.timeout, say=say)
        say(f"end to end: {plan.count} requests, submitted → COLLECTED")
        measured = submissions[plan.warm_up:plan.warm_up + plan.count]
        meter = CostMeter(settings, measured_processes(sandbox))
        await meter.start()
        pipeline = await bench_end_to_end(settings, measured, timeout=plan.timeout, rate=plan.rate, say=say)
        cost = await meter.stop(pipeline.collected)
        say(f"  {pipeline.collected} collected in {pipeline.seconds:.1f}s: {pipeline.requests_per_second:.0f}/s; "
            f"{cost.records_per_request:.1f} records and {cost.cpu_ms_per_request:.1f} ms of worker CPU a request")
        steady_rate = max(1.0, pipeline.requests_per_second / 2)
        steady_count = min(steady_most, max(STEADY_MIN, int(steady_rate * STEADY_SECONDS)))
        say(f"steady: {steady_count} requests at {steady_rate:.0f}/s, half the throughput")
        steady = await bench_end_to_end(settings, submissions[plan.warm_up + plan.count:][:steady_count],
                                        timeout=plan.timeout, rate=steady_rate, say=say)
        say(f"  submitted → READY_FOR_PICKUP p50 {steady.ready_ms.get('p50', 0):.0f} ms, "
            f"p99 {steady.ready_ms.get('p99', 0):.0f} ms")
        say(f"baseline: the same payloads through {PIPELINE_HOPS} plain aiokafka hops")
        relay = await bench_relay(settings, [(s.key, s.value) for s in measured])
        say(f"  {relay.count} relayed in {relay.seconds:.1f}s: {relay.records_per_second:.0f}/s")
        say(f"faust's ceiling: the same payloads through {PIPELINE_HOPS} faust agents that only forward")
        framework = await bench_faust_relay(settings, [(s.key, s.value) for s in measured], timeout=plan.timeout)
        say(f"  {framework.count} relayed in {framework.seconds:.1f}s: {framework.records_per_second:.0f}/s")
        say(f"dead-letter drain: {plan.dlq_count} requests")
        drain = await bench_dlq(settings, plan.dlq_count, say=say, timeout=plan.timeout)
        say(f"  drained in {drain.drain_seconds:.1f}s: {drain.drain_per_second:.0f}/s")
    security = None
    if plan.security:  # after the private system has stopped, so that its idle processes take no CPU from it
        compared = records_of([(s.key, s.value) for s in measured])
        say(f"security: {len(compared)} of the same payloads through {PIPELINE_HOPS} plain aiokafka hops on a "
            "comparison broker's plaintext, SCRAM and SCRAM+TLS listeners")
        began = time.monotonic()
        security = await bench_security(settings, compared)
        say(f"  {security.summary()} ({time.monotonic() - began:.0f}s)")
    return result_of(plan, settings, started, machine, pipeline, relay, framework, drain.count,
                     drain.fill_seconds, drain.drain_seconds, cost=cost, steady=steady, steady_rate=steady_rate,
                     security=security)


async def warm_up(sandbox: Sandbox, settings: Settings, submissions: Sequence[GeneratedSubmission], *, timeout: float,
                  say: Callable[[str], None]) -> None:
    """Send `submissions` and wait for all of them to be collected: a first few, then the rest at full load.

    A first few not collected in time stop the bench with what stalled them, and keep the system's folder.
    """
    first, rest = submissions[:FIRST_WARM_UP], submissions[FIRST_WARM_UP:]
    say(f"warming up: {len(first)} requests (connections, keys, group assignment)")
    warm = await bench_end_to_end(settings, first, timeout=FIRST_WARM_UP_TIMEOUT, say=say)
    if warm.collected < len(first):
        sandbox.keep = True  # what stalled it is in the services' logs: the folder stays for a person to read
        raise EktpError(f"the warm-up stalled ({warm.collected} of {len(first)} collected, {warm.states}): "
                        f"{worker_trouble(sandbox.supervisor.log_path('worker'))}; the system's folder is "
                        f"kept: {sandbox.folder}")
    if rest:
        say(f"warming up: {len(rest)} more at full load (the broker's JVM compiles its hot paths)")
        warm = await bench_end_to_end(settings, rest, timeout=timeout, say=say)
        if warm.collected < len(rest):
            raise EktpError(f"the warm-up at full load collected {warm.collected} of {len(rest)} ({warm.states})")


def result_of(
    plan: BenchPlan, settings: Settings, started: dt.datetime, machine: dict[str, Any], pipeline: EndToEndBench,
    relay: RelayBench, framework: RelayBench, dlq_count: int, dlq_fill: float, dlq_drain: float, *,
    cost: Cost, steady: EndToEndBench, steady_rate: float, security: SecurityBench | None = None,
) -> dict[str, Any]:
    """The bench's JSON: the headline figures first, then the detail and the machine.

    `faust_relay_rps` is what one faust worker carries through the same hops with no work of its own;
    `share_of_faust_relay` is how much of that the pipeline keeps. `records_per_request` counts every record
    written to the broker in the full-load run (desks, station, changelogs included) per request collected;
    `worker_cpu_ms_per_request` the CPU time of all worker processes over that run, per request;
    `latency_steady_ms` the time from submission to READY_FOR_PICKUP at a steady half of the throughput, whose
    steps `steady.steps_latency_ms` breaks down as `steps_latency_ms` does the full-load run.
    `kafka_security` is how every client of the private system connected; `security` what SCRAM and TLS cost the
    baseline relay beside plaintext on a comparison broker (`security.py`), None when skipped.
    """
    throughput = pipeline.requests_per_second
    return {
        "count": plan.count,
        "workers": plan.workers,
        "nodes": plan.nodes,
        "collected": pipeline.collected,
        "throughput_rps": round(throughput, 1),
        "baseline_rps": round(relay.records_per_second, 1),
        "ratio": round(throughput / relay.records_per_second, 3) if relay.records_per_second else 0.0,
        "latency_ms": pipeline.latency_ms,
        "dlq_drain_rps": round(dlq_count / dlq_drain, 1) if dlq_drain else 0.0,
        "faust_relay_rps": round(framework.records_per_second, 1),
        "share_of_faust_relay": (round(throughput / framework.records_per_second, 3)
                                 if framework.records_per_second else 0.0),
        "records_per_request": round(cost.records_per_request, 2),
        "worker_cpu_ms_per_request": round(cost.cpu_ms_per_request, 2),
        "cpu_ms_per_request_by_process": cost.cpu_ms_per_request_by_process(),
        "latency_steady_ms": steady.ready_ms,
        "steady": {"rate": round(steady_rate, 1), "count": steady.count, "collected": steady.collected,
                   "to_collected_ms": steady.latency_ms, "steps_latency_ms": steady.steps_ms},
        "cost": {"records": cost.records, "worker_cpu_seconds": round(cost.cpu_seconds, 2),
                 "requests": cost.requests},
        "steps_latency_ms": pipeline.steps_ms,
        "seconds": round(pipeline.seconds, 2),
        "final_states": pipeline.states,
        "baseline": {"hops": relay.hops, "count": relay.count, "seconds": round(relay.seconds, 2)},
        "faust_relay": {"hops": framework.hops, "count": framework.count, "seconds": round(framework.seconds, 2),
                        "workers": 1},
        "dlq": {"count": dlq_count, "fill_seconds": round(dlq_fill, 2), "drain_seconds": round(dlq_drain, 2)},
        "kafka_security": f"{security_protocol(settings)}/{SCRAM_MECHANISM}",
        "security": security.as_json() if security else None,
        "settings": {
            "send_rate": plan.rate, "warm_up": plan.warm_up,
            "approval_batch_size": settings.approval_batch_size,
            "approval_batch_within": settings.approval_batch_within,
            "central_concurrency": settings.central_concurrency,
            "dlq_replay_rate": settings.dlq_replay_rate, "station_instant": settings.station_instant,
            "worker_standby_replicas": settings.worker_standby_replicas, "event_loop": settings.event_loop,
            "topic_replication": settings.topic_replication, "topic_min_insync": settings.topic_min_insync,
            "central_sim": " ".join(CENTRAL_FLAGS),
        },
        "machine": machine,
        "started_at": started.isoformat(timespec="seconds"),
    }


def measured_processes(sandbox: Sandbox) -> dict[str, int]:
    """The pids of the sandbox's processes by name (workers, station, central-sim), its broker's (`broker`, or
    `broker-1`, `broker-2`... for a cluster's nodes) and the bench's."""
    pids = {name: sandbox.supervisor.pid_of(name) for name in sandbox.supervisor.running()}
    pids |= {**sandbox.launcher.pids(), "bench": os.getpid()}
    return {name: pid for name, pid in pids.items() if pid is not None}


def worker_trouble(log: Path) -> str:
    """The first agent crash in the worker's log, or where the log is: what a stalled run points at."""
    try:
        for line in log.read_text(errors="replace").splitlines():
            if "Crashed reason=" in line:
                return "the worker's first agent crash: " + line[:600]
    except OSError:
        pass
    return f"see the worker's log {log}"


def save_result(result: dict[str, Any], folder: Path | None = None) -> Path:
    """Write the result to `bench/results/<UTC timestamp>.json`; its path."""
    folder = folder or project_root() / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
