"""`ektp broker start|stop|status|logs|fetch|certs`: the project's own Kafka broker."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import typer

from pipeline.broker import BrokerLauncher, BrokerStatus
from pipeline.broker.certs import CertificateError, ensure_certificates, fingerprint, normalize_host, tls_files
from pipeline.cli.context import console, settings
from pipeline.config import Settings

app = typer.Typer(help="The project's own Kafka broker (KRaft): one node, or a cluster of several on this host, "
                       "from Maven Central jars.", no_args_is_help=True)


@app.command()
def fetch() -> None:
    """Fetch the broker's jars from Maven Central into the cache (once per machine)."""
    launcher = BrokerLauncher(settings())
    fetched = launcher.fetch_jars()
    console.print(f"broker jars {'fetched into' if fetched else 'already in'} {launcher.libs_dir}")


@app.command()
def start(
    nodes: int | None = typer.Option(
        None, "--nodes", min=1, help="Nodes of the cluster, on ports kafka_port + i - 1 (default: what its data folder "
        "remembers, else EKTP_BROKER_NODES, else 1); remembered for every later command on this run dir",
    ),
) -> None:
    """Start the broker's nodes unless they run, and wait until every one answers."""
    current = settings()
    if nodes is not None:
        current = Settings(broker_nodes=nodes)  # replication follows the node count unless set
    launcher = BrokerLauncher(current)
    took = launcher.start()
    status = launcher.status()
    how = f"started in {took:.1f}s" if took else "already running"
    pids = ", ".join(str(node.pid) for node in status.nodes)
    console.print(
        f"Kafka broker {how}: {status.bootstrap_servers} ({_nodes(status)}pid {pids}, "
        f"{status.rss_mb or 0:.0f} MB resident, data in {status.data_dir})"
    )


@app.command()
def stop() -> None:
    """Stop every node of the broker: SIGTERM, wait, then SIGKILL; no process is left behind."""
    was_running = BrokerLauncher(settings()).stop()
    console.print("Kafka broker stopped" if was_running else "Kafka broker was not running")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Tell whether the broker is up, node by node, and how its partitions are replicated; exit 0 when every node
    is up, 1 otherwise."""
    state = BrokerLauncher(settings()).status()
    if as_json:
        nodes = [{**asdict(node), "up": node.up} for node in state.nodes]
        print(json.dumps({**asdict(state), "nodes": nodes, "up": state.up}))
        raise typer.Exit(0 if state.up else 1)
    if state.up:
        console.print(
            f"up: {state.bootstrap_servers} ({_nodes(state)}pid {state.pid}, {state.rss_mb or 0:.0f} MB resident, "
            f"up {state.uptime_s or 0:.0f}s, data in {state.data_dir}){_replicas(state)}"
        )
    elif state.answering:
        live = sum(node.up for node in state.nodes)
        console.print(f"degraded: {live} of {len(state.nodes)} nodes up{_replicas(state)}")
    elif state.running:
        console.print(f"down: process {state.pid} runs but {state.bootstrap_servers} does not answer")
    else:
        console.print(f"down: no broker process for {state.data_dir}")
    if len(state.nodes) > 1:
        for node in state.nodes:
            how = "up" if node.up else "starting" if node.running else "down"
            memory = f"  {node.rss_mb:.0f} MB" if node.rss_mb else ""
            console.print(f"  node {node.node_id}  :{node.port}  pid {node.pid or '-'}  {how}{memory}")
    raise typer.Exit(0 if state.up else 1)


def _nodes(state: BrokerStatus) -> str:
    return f"{len(state.nodes)} nodes, " if len(state.nodes) > 1 else ""


def _replicas(state: BrokerStatus) -> str:
    if state.under_replicated is None:
        return ""
    return f"; {state.under_replicated} partitions under-replicated, {state.offline} offline"


@app.command()
def logs(
    lines: int = typer.Option(50, "--lines", "-n", help="How many lines"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines"),
) -> None:
    """Print the end of the broker's log."""
    launcher = BrokerLauncher(settings())
    present = [str(path) for path in launcher.log_files if path.is_file()]
    if follow and present:
        subprocess.run(["tail", "-n", str(lines), "-F", *present], check=False)
    else:
        print(launcher.log_tail(lines))


def _hosts(values: list[str] | None) -> list[str]:
    hosts = values or []
    for host in hosts:
        try:
            normalize_host(host)
        except CertificateError as error:
            raise typer.BadParameter(str(error), param_hint="--host") from None
    return hosts


def _content(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


@app.command()
def certs(
    hosts: list[str] | None = typer.Option(
        None, "--host", metavar="NAME", help="Another DNS name or IP address the broker's certificate must name, "
        "for clients that dial it so (repeatable); kafka_host, localhost, 127.0.0.1, ::1 and this machine's name "
        "always are",
    ),
    force: bool = typer.Option(False, "--force", help="Issue the broker's certificate again, naming only the hosts "
                               "wanted now; the CA is kept"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Make the private CA and the broker's certificate unless they are there, and tell where they are, the CA's
    SHA-256 fingerprint and the hosts the certificate names. The broker uses them when EKTP_KAFKA_TLS is on or
    EKTP_KAFKA_HOST is not a loopback address; clients on other machines need a copy of ca.pem."""
    current = settings()
    wanted = _hosts(hosts)
    paths = tls_files(current)
    before = _content(paths.ca), _content(paths.broker_cert)
    files = ensure_certificates(current, hosts=wanted, force=force)
    ca_made = before[0] != _content(files.ca)
    issued = before[1] != _content(files.broker_cert)
    ca_fingerprint = fingerprint(files.ca)
    if as_json:
        print(json.dumps({
            "tls_dir": str(current.tls_path), "ca": str(files.ca), "ca_key": str(files.ca_key),
            "broker_cert": str(files.broker_cert), "broker_key": str(files.broker_key), "keystore": str(files.keystore),
            "ca_sha256": ca_fingerprint, "covered_hosts": list(files.covered_hosts), "ca_made": ca_made,
            "broker_cert_issued": issued, "tls": current.kafka_uses_tls,
        }))
        return
    in_use = (f"on: the broker's listeners on {current.kafka_host} use these files" if current.kafka_uses_tls else
              "off: the broker listens on the loopback; it uses these files with EKTP_KAFKA_TLS=true or an "
              "EKTP_KAFKA_HOST off the loopback")
    lines = [
        ("CA certificate", f"{files.ca} ({'made now' if ca_made else 'kept'}; every client off this machine needs "
                           "a copy)"),
        ("CA SHA-256", ca_fingerprint),
        ("CA key", f"{files.ca_key} (mode 0600; never leaves this machine)"),
        ("broker certificate", f"{files.broker_cert} ({'issued now' if issued else 'kept'})"),
        ("broker key", f"{files.broker_key} (mode 0600)"),
        ("broker key store", f"{files.keystore} (key and chain, Kafka's PEM key store)"),
        ("hosts covered", ", ".join(files.covered_hosts)),
        ("TLS", in_use),
    ]
    for name, value in lines:
        # Neither markup nor emoji: a fingerprint's ":CD:" would otherwise print as an emoji.
        console.print(f"{name + ':':<19} {value}", markup=False, emoji=False)
