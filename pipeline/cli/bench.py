"""`ektp bench ...`: measurements on this machine, never assertions.

`ektp bench` alone runs the end-to-end benchmark on a private system of its own (pipeline/proving/bench/run.py);
`ektp bench central` and `ektp bench dlq` measure one part of a running system.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import typer
from rich.console import Console

from pipeline.cli.context import console, settings
from pipeline.proving.bench.central import bench_central
from pipeline.proving.bench.dlq import bench_dlq
from pipeline.proving.bench.run import DEFAULT_WARM_UP, BenchPlan, run_bench, save_result

app = typer.Typer(help="Measure the pipeline on this machine.", invoke_without_command=True)
progress = Console(stderr=True, highlight=False, soft_wrap=True)  # stdout's last line is the JSON


@app.callback()
def end_to_end(
    ctx: typer.Context,
    count: int = typer.Option(5000, "--count", min=1, help="Valid submissions sent, submitted → COLLECTED"),
    dlq_count: int | None = typer.Option(
        None, "--dlq-count", min=1, help="Requests in the dead-letter backlog drained (default: min(count, 2000))"
    ),
    rate: float | None = typer.Option(None, "--rate", min=1, help="Submissions per second (default: all at once)"),
    partitions: int | None = typer.Option(None, "--partitions", min=1, help="Partitions per topic (default: settings)"),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes of the private system"),
    nodes: int = typer.Option(1, "--nodes", min=1, help="Broker nodes of the private system (3: replication 3, "
                              "min.insync.replicas 2)"),
    timeout: float | None = typer.Option(None, "--timeout", min=1, help="Seconds to wait for the last card"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (the last stdout line)"),
    results: Path | None = typer.Option(None, "--results-dir", help="Where the result is saved (bench/results)"),
    keep: bool = typer.Option(False, "--keep", help="Keep the private system's folder (logs, journals)"),
    warm_up: int = typer.Option(DEFAULT_WARM_UP, "--warm-up", min=1, help="Requests sent and collected at full "
                                "load before the clock starts (the broker's JVM compiles its hot paths)"),
    security: bool = typer.Option(True, "--security/--no-security", help="Measure what SCRAM and TLS cost the "
                                  "baseline relay beside plaintext, on a comparison broker (about 30 s)"),
) -> None:
    """Without a subcommand: throughput, latency, the raw-Kafka baseline and the drain rate, on a private system.

    Starts a broker (one node, or `--nodes` of them), central-sim (zero latency, no rate limit), a worker and an
    instant printing station of its own on free ports, and stops them at the end; then, unless `--no-security`,
    relays the same payloads on a comparison broker's plaintext, SCRAM and SCRAM+TLS listeners. The result is
    saved under bench/results/.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings()  # logging configured like every command's
    plan = BenchPlan(count=count, dlq_count=dlq_count or min(count, 2000), rate=rate, partitions=partitions,
                     workers=workers, nodes=nodes, timeout=timeout or max(180.0, count / 10), keep=keep,
                     security=security, warm_up=warm_up)
    # SIGTERM stops the run like Ctrl-C: the private system is stopped, not orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    result = asyncio.run(run_bench(plan, say=progress.print))
    path = save_result(result, results)
    progress.print(f"saved {path}")
    if as_json:
        print(json.dumps(result))
    else:
        latency = result["latency_ms"]
        console.print(
            f"{result['collected']}/{result['count']} collected: {result['throughput_rps']:.0f} requests/s "
            f"(baseline {result['baseline_rps']:.0f}/s, ratio {result['ratio']:.2f}; "
            f"{result['records_per_request']:.1f} records, {result['worker_cpu_ms_per_request']:.1f} ms of worker CPU "
            f"a request); end to end p50 "
            f"{latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms, p99 {latency['p99']:.0f} ms; "
            f"dead-letter drain {result['dlq_drain_rps']:.0f}/s"
        )
        if result["security"]:
            cost = result["security"]
            console.print(f"the baseline relay with SCRAM keeps {cost['scram_relay_cost']:.2f} of plaintext's "
                          f"throughput, with SCRAM and TLS {cost['tls_relay_cost']:.2f}")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def central(
    count: int = typer.Option(5000, "--count", min=1, help="Enrollments to send"),
    concurrency: int | None = typer.Option(None, help="Calls in flight (default: EKTP_CENTRAL_CONCURRENCY)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Decisions per second the central client gets from a running central-sim."""
    current = settings()
    if concurrency:
        current = current.model_copy(update={"central_concurrency": concurrency})
    result = asyncio.run(bench_central(current, count))
    summary = {"calls": result.calls, "seconds": round(result.seconds, 3), "concurrency": result.concurrency,
               "calls_per_second": round(result.calls_per_second, 1)}
    if as_json:
        print(json.dumps(summary))
    else:
        console.print(f"{result.calls} decisions in {result.seconds:.2f}s with {result.concurrency} in flight: "
                      f"{result.calls_per_second:.0f} calls/s")


@app.command()
def dlq(
    count: int = typer.Option(10_000, "--count", min=1, help="Requests that wait in the dead-letter stream"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """On a running system (`ektp up`): how fast a dead-letter backlog drains once central is back."""
    result = asyncio.run(bench_dlq(settings(), count, say=console.print))
    summary = {"count": result.count, "fill_seconds": round(result.fill_seconds, 1),
               "drain_seconds": round(result.drain_seconds, 1), "dlq_drain_rps": round(result.drain_per_second, 1)}
    if as_json:
        print(json.dumps(summary))
    else:
        console.print(f"{result.count} dead-lettered requests drained in {result.drain_seconds:.1f}s: "
                      f"{result.drain_per_second:.0f} requests/s")
