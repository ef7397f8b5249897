"""`ektp credentials --role ROLE [--json]`: what a client of a role connects to the broker with; `ektp credentials
make`, `broker-files` and `client-files`: the passwords themselves, and the files a broker or a Java client that
the project does not start reads them from.

For a program outside the project, a printing station of another vendor above all: `--json` prints the
keyword arguments of an aiokafka client of that role (`pipeline.kafka.security.portable_options`), its
password among them, so it goes to a file of mode 0600 and never to a log. Without `--json` the summary
says where the password is kept instead of printing it.

`make` writes the missing passwords (`ensure_credentials`); `broker-files` and `client-files` write what a Kafka
broker run by something else than `ektp broker start` (docker-compose.yml's) and a Java client need
(`pipeline.broker.external`). None of them prints a password.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.broker.external import CONTROLLER_LISTENER, write_broker_files, write_client_files
from pipeline.cli.context import console, settings
from pipeline.kafka.security import (
    BROKER_ROLE,
    CONTROLLER_ROLE,
    all_roles,
    credentials_file,
    ensure_credentials,
    portable_options,
)

# The broker's own principals: the nodes among themselves and the KRaft quorum; no client connects as them.
INTERNAL_ROLES = (BROKER_ROLE, CONTROLLER_ROLE)

app = typer.Typer(invoke_without_command=True, help="Kafka credentials: a client's connection options "
                  "(`--role ROLE [--json]`), the passwords, and the files of a broker or Java client.")


def client_roles() -> tuple[str, ...]:
    """The roles a client may connect as: the programs' roles and `admin`."""
    return tuple(role for role in all_roles() if role not in INTERNAL_ROLES)


def _checked(role: str) -> str:
    if role in INTERNAL_ROLES:
        raise typer.BadParameter(
            f"{role!r} is the broker's own principal, for its nodes only; a client is one of: "
            f"{', '.join(client_roles())}", param_hint="--role")
    if role not in client_roles():
        raise typer.BadParameter(f"no role {role!r}; a client is one of: {', '.join(client_roles())}",
                                 param_hint="--role")
    return role


@app.callback()
def credentials(
    context: typer.Context,
    role: Annotated[str | None, typer.Option("--role", help=f"The client's role: {', '.join(client_roles())}")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object: the aiokafka client's keyword arguments, the password among them",
    )] = False,
) -> None:
    """How a client of ROLE connects to the broker: servers, SASL/SCRAM user, TLS. `--json` includes the password."""
    if context.invoked_subcommand is not None:
        if role is not None or as_json:
            raise typer.BadParameter(f"--role and --json show a client's options, with no subcommand; "
                                     f"`{context.invoked_subcommand}` takes its own after its name",
                                     param_hint="--role")
        return
    if role is None:
        raise typer.BadParameter(f"missing: name the client's role, one of {', '.join(client_roles())}; or run "
                                 "a subcommand (make, broker-files, client-files)", param_hint="--role")
    _checked(role)
    current = settings()
    options = portable_options(current, role)
    if as_json:
        print(json.dumps(options))
        return
    lines = [
        ("role", role),
        ("bootstrap servers", options["bootstrap_servers"]),
        ("security protocol", options["security_protocol"]),
        ("SASL mechanism", options["sasl_mechanism"]),
        ("username", options["sasl_plain_username"]),
        ("password", f"not shown: it is in {credentials_file(current, role)} (mode 0600), and in `--json`"),
        ("CA certificate", f"{options['ssl_cafile']} (the broker's certificate must be signed by it)"
         if "ssl_cafile" in options else "none: no TLS (the broker is on the loopback)"),
    ]
    for name, value in lines:
        console.print(f"{name + ':':<19} {value}", markup=False)


@app.command("make")
def make(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Make a random password for every role that has none, one 0600 file each; keep the others. A broker formatted
    with the kept ones goes on accepting them."""
    current = settings()
    kept = [role for role in all_roles() if credentials_file(current, role).exists()]
    ensure_credentials(current)
    made = [role for role in all_roles() if role not in kept]
    folder = current.credentials_path
    if as_json:
        print(json.dumps({"credentials_dir": str(folder), "made": made, "kept": kept}))
        return
    console.print(f"Kafka credentials in {folder} (one <role>.json each, mode 0600; no password shown): "
                  f"made {', '.join(made) or 'none'}; kept {', '.join(kept) or 'none'}", markup=False)


GROUP_OPTION = typer.Option(
    "--group", metavar="GID", min=0, help="Give the folder (0750) and the files holding a secret (0640) to this "
    "group, which this user must belong to, so that another user in it (a container's) reads them; without it they "
    "are this user's alone")


@app.command("broker-files")
def broker_files(
    folder: Annotated[Path, typer.Argument(help="Where to write them (made if missing)")],
    listeners: Annotated[list[str], typer.Option(
        "--listener", metavar="NAME", help="A SCRAM listener of the broker, e.g. INTERNAL (repeatable)")],
    controller_listener: Annotated[str, typer.Option(
        "--controller-listener", metavar="NAME", help="The broker's controller listener (SASL/PLAIN)",
    )] = CONTROLLER_LISTENER,
    group: Annotated[int | None, GROUP_OPTION] = None,
) -> None:
    """The files a Kafka broker that `ektp broker start` does not run needs: server.properties lines to append
    (each listener's JAAS line, the TLS key store), format.args (the storage's SCRAM users, for `kafka-storage.sh
    format`), and with TLS the key store and the CA. Makes the missing passwords first."""
    written = write_broker_files(settings(), folder, listeners, group=group, controller_listener=controller_listener)
    for path in written:
        console.print(str(path), markup=False)


@app.command("client-files")
def client_files(
    folder: Annotated[Path, typer.Argument(help="Where to write them (made if missing)")],
    role: Annotated[str, typer.Option("--role", help=f"The client's role: {', '.join(client_roles())}")],
    group: Annotated[int | None, GROUP_OPTION] = None,
) -> None:
    """The files a Java client of ROLE reads: ROLE.properties (security.protocol, SASL, its JAAS line, the CA as a PEM
    trust store; a Kafka tool's --command-config), ROLE.jaas (a JAAS file's KafkaClient section), and with TLS the
    CA."""
    _checked(role)
    written = write_client_files(settings(), role, folder, group=group)
    for path in written:
        console.print(str(path), markup=False)
