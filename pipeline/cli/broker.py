"""`ektp broker start|stop|status|logs|fetch`: the project's own Kafka broker."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict

import typer

from pipeline.broker import BrokerLauncher
from pipeline.cli.context import console, settings

app = typer.Typer(help="The project's own single-node Kafka broker (KRaft), from Maven Central jars.",
                  no_args_is_help=True)


@app.command()
def fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache (once per machine)."""
    launcher = BrokerLauncher(settings())
    fetched = launcher.fetch_jars()
    console.print(f"broker jars {'fetched into' if fetched else 'already in'} {launcher.libs_dir}")


@app.command()
def start() -> None:
    """Start the broker unless it runs, and wait until it answers."""
    launcher = BrokerLauncher(settings())
    took = launcher.start()
    status = launcher.status()
    how = f"started in {took:.1f}s" if took else "already running"
    console.print(
        f"Kafka broker {how}: {status.bootstrap_servers} (pid {status.pid}, "
        f"{status.rss_mb or 0:.0f} MB resident, data in {status.data_dir})"
    )


@app.command()
def stop() -> None:
    """Stop the broker: SIGTERM, wait, then SIGKILL; no process is left behind."""
    was_running = BrokerLauncher(settings()).stop()
    console.print("Kafka broker stopped" if was_running else "Kafka broker was not running")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Tell whether the broker is up; exit 0 when up, 1 when down."""
    state = BrokerLauncher(settings()).status()
    if as_json:
        print(json.dumps({**asdict(state), "up": state.up}))
    elif state.up:
        console.print(
            f"up: {state.bootstrap_servers} (pid {state.pid}, {state.rss_mb or 0:.0f} MB resident, "
            f"up {state.uptime_s or 0:.0f}s, data in {state.data_dir})"
        )
    elif state.running:
        console.print(f"down: process {state.pid} runs but {state.bootstrap_servers} does not answer")
    else:
        console.print(f"down: no broker process for {state.data_dir}")
    raise typer.Exit(0 if state.up else 1)


@app.command()
def logs(
    lines: int = typer.Option(50, "--lines", "-n", help="How many lines"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines"),
) -> None:
    """Print the end of the broker's log."""
    launcher = BrokerLauncher(settings())
    if follow and launcher.log_file.is_file():
        subprocess.run(["tail", "-n", str(lines), "-F", str(launcher.log_file)], check=False)
    else:
        print(launcher.log_tail(lines))

