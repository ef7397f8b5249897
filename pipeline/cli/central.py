"""`ektp central-sim` (run the simulated central server) and `ektp central outage|status` (the lightning)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import typer

from pipeline.central.admin import call_outage_admin
from pipeline.cli.context import console, settings
from pipeline.cli.durations import parse_duration
from pipeline.processes.system import central_sim_argv

app = typer.Typer(help="The link to central: outages on demand, and its state.", no_args_is_help=True)

MODES = ("down", "flaky", "slow", "hang", "clear")


def central_sim(
    latency_ms: float | None = typer.Option(None, help="Base latency of a call in ms (central_sim's default 20)"),
    rate: float | None = typer.Option(None, "--rate", help="Enrollments per second before 429 (0: no limit)"),
) -> None:
    """Run the simulated central server (HTTP) in the foreground, on the configured ports."""
    extra: list[str] = []
    if latency_ms is not None:
        extra += ["--latency-ms", str(latency_ms), "--jitter-ms", str(min(latency_ms / 2, 10.0))]
    if rate is not None:
        extra += ["--rate-per-second", str(rate)]
    current = settings()
    environment = {**os.environ, "EKTP_CENTRAL_ADMIN_TOKEN": current.central_admin_token.get_secret_value()}
    argv = central_sim_argv(current, *extra)
    os.execve(argv[0], argv, environment)  # noqa: S606 (become central_sim: signals reach it directly)


@app.command()
def outage(
    mode: str = typer.Argument(..., help="down | flaky | slow | hang | clear"),
    for_: str | None = typer.Option(None, "--for", help="End by itself after this long (30s, 2m)"),
    error_rate: float = typer.Option(0.3, "--error-rate", min=0.0, max=1.0, help="flaky: share of calls failing"),
    latency: str = typer.Option("2s", "--latency", help="slow: added latency"),
    start_in: str | None = typer.Option(None, "--in", help="Schedule the window to start after this long"),
) -> None:
    """Strike the link to central (down, flaky, slow, hang) or clear it."""
    if mode not in MODES:
        raise typer.BadParameter(f"mode must be one of {', '.join(MODES)}", param_hint="MODE")
    try:
        command = {
            "mode": mode,
            "for_seconds": parse_duration(for_) if for_ else None,
            "error_rate": error_rate,
            "latency_seconds": parse_duration(latency),
            "start_in_seconds": parse_duration(start_in) if start_in else None,
        }
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    state = _admin("POST", command)
    console.print(_describe(state))


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Show the link's fault mode, until when, and the scheduled windows."""
    state = _admin("GET", None)
    if as_json:
        print(json.dumps(state))
    else:
        console.print(_describe(state))


def _describe(state: dict[str, Any]) -> str:
    mode = state.get("mode", "?")
    until = f" until {state['until']}" if state.get("until") else ""
    scheduled = state.get("scheduled") or []
    later = f"; {len(scheduled)} window(s) scheduled" if scheduled else ""
    return f"central link: {mode}{until}{later}"


def _admin(method: str, body: dict[str, Any] | None) -> dict[str, Any]:
    return asyncio.run(call_outage_admin(settings(), method, body))
