"""`ektp up|down`: the whole pipeline in the background on this machine, and stopping it cleanly."""

from __future__ import annotations

import asyncio

import typer

from pipeline.broker import BrokerLauncher
from pipeline.cli.context import console, settings
from pipeline.config import Settings
from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.security import ADMIN_ROLE
from pipeline.processes.supervisor import Running, Supervisor
from pipeline.processes.system import DESK, ORDER, services, stopping_order, worker_name


def up(
    station: str = typer.Option("TPI-01", "--station", help="The printing station to start"),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (metrics on consecutive ports)"),
) -> None:
    """Start broker, central-sim, workers, a recording desk, printing station and dashboard in the background; wait
    until all answer."""
    current = settings()
    took = BrokerLauncher(current).start()
    console.print(f"broker       {current.bootstrap_servers}  ({'started' if took else 'already running'})")
    for outcome in asyncio.run(ensure_topics(current, role=ADMIN_ROLE)):
        if outcome.outcome == "mismatch":
            console.print(f"[yellow]topic {outcome.name}[/] {outcome.detail}", highlight=False)
    started = asyncio.run(_start_all(current, station, workers))
    addresses = {"central-sim": current.central_url, "station": f"{station}, metrics :{current.station_metrics_port}",
                 "desk": f"{DESK}, `ektp enroll FILE --desk {DESK}`",
                 "dashboard": f"http://{current.dashboard_host}:{current.dashboard_port}"}
    addresses |= {worker_name(number): f"metrics :{current.worker_metrics_port + number - 1}"
                  for number in range(1, workers + 1)}
    for running in started:
        how = "started" if running.started else "already running"
        console.print(f"{running.name:<12} {addresses[running.name]}  (pid {running.pid}, {how})")
    console.print(f"logs in {Supervisor(current).logs}; stop everything with `ektp down`")


async def _start_all(current: Settings, station: str, workers: int) -> list[Running]:
    supervisor = Supervisor(current)
    return [await supervisor.start(service) for service in services(current, station=station, workers=workers)]


def down() -> None:
    """Stop every background process of the pipeline, the broker last; nothing is left running."""
    current = settings()
    supervisor = Supervisor(current)
    for name in stopping_order([*ORDER, *supervisor.running()]):
        if supervisor.stop(name):
            console.print(f"{name:<12} stopped")
    if BrokerLauncher(current).stop():
        console.print(f"{'broker':<12} stopped")
    left = supervisor.running()
    if left:
        console.print(f"still running: {', '.join(left)}")
        raise typer.Exit(1)
