"""`ektp chaos --count N [--json]`: N requests through a private system while its processes fail.

Progress goes to stderr; stdout ends with the verdict (one JSON line with `--json`). The exit code is 1
when an invariant does not hold or the requests did not all become terminal in time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets

import typer
from rich.console import Console

from pipeline.cli.context import console, settings
from pipeline.proving.chaos import ChaosPlan, run_chaos

progress = Console(stderr=True, highlight=False, soft_wrap=True)  # stdout's last line is the verdict


def chaos(
    count: int = typer.Option(1000, "--count", min=20, help="Submissions sent (about 1% malformed, 1% repeated)"),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the synthetic residents (default: random)"),
    outage: float = typer.Option(4.0, "--outage", min=0.5, help="Seconds each central outage (down, hang) lasts"),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes; SIGKILLs take each in turn"),
    nodes: int = typer.Option(1, "--nodes", min=1, help="Broker nodes; with 3 (replication 3, min.insync.replicas "
                              "2) one of them is SIGKILLed mid-run and started again"),
    timeout: float | None = typer.Option(None, "--timeout", min=1,
                                         help="Seconds to wait after the last fault for every request to end"),
    keep: bool = typer.Option(False, "--keep", help="Keep the private system's folder (logs, journal, cards)"),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON (the last stdout line)"),
) -> None:
    """Inject faults while N requests run (worker SIGKILL x2, station SIGKILL mid-print, broker restart, a broker
    node SIGKILLed with --nodes 3, central down and hang), then check that nothing was lost, printed twice,
    reordered or moved backwards."""
    settings()  # logging configured like every command's
    # The run restarts the broker on purpose: its own clients' reconnection errors are expected, not news.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    plan = ChaosPlan(count=count, seed=secrets.randbelow(2**31) if seed is None else seed, outage_seconds=outage,
                     workers=workers, nodes=nodes, timeout=timeout or max(180.0, count / 4), keep=keep)
    result = asyncio.run(run_chaos(plan, progress))
    verdict = result.verdict
    if as_json:
        print(json.dumps(result.as_json()))
    else:
        console.print(
            f"{'PASSED' if result.ok else 'FAILED ' + ', '.join(result.failed)}: "
            f"{verdict.terminal}/{verdict.requests} requests terminal, {verdict.lost} lost, "
            f"{verdict.double_printed} printed twice, {verdict.regressions} regressions, "
            f"{verdict.order_violations} out of order, {verdict.dlq_pending} pending in the dead-letter stream; "
            f"faults: {', '.join(result.fault_kinds)}; {result.duration_s}s"
        )
    if not result.ok:
        raise typer.Exit(1)
