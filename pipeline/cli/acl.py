"""`ektp acl list`: the ACLs each role gets, derived from the routing table and the topic registry, or enforced;
`ektp acl sync`: the enforced ones made equal to the derived."""

from __future__ import annotations

import asyncio
import json
from itertools import groupby
from typing import Annotated

import typer
from rich.table import Table

from pipeline.broker.authorization import enforced_acls, sync_acls
from pipeline.cli.context import console, settings
from pipeline.topology.acls import acls, markdown_table

app = typer.Typer(help="Who may read and write what on the broker.", no_args_is_help=True)


@app.command("list")
def list_acls(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per ACL")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="One row per role: the README's security table")] = False,
    from_broker: Annotated[bool, typer.Option(
        "--from-broker", help="The ACLs the running broker enforces (as admin), instead of the derived set")] = False,
) -> None:
    """Every ACL, by role: the routing table's reads and writes, and what each role's clients need besides."""
    entries = asyncio.run(enforced_acls(settings())) if from_broker else acls(settings().app_id)
    if markdown:
        print(markdown_table(entries), end="")
        return
    if as_json:
        for entry in entries:
            print(json.dumps({"principal": entry.principal, "resource_type": entry.resource_type,
                              "pattern": entry.pattern, "name": entry.name, "operation": entry.operation}))
        return
    table = Table("role", "resource", "name", "operations")
    for (role, kind, pattern, name), group in groupby(
        entries, key=lambda entry: (entry.role, entry.resource_type, entry.pattern, entry.name)
    ):
        shown = f"{name}*" if pattern == "PREFIXED" else name
        table.add_row(role, kind.lower(), shown, ", ".join(sorted(entry.operation for entry in group)))
    console.print(table)


@app.command("sync")
def sync(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Make the broker's ACLs of the programs' roles exactly the derived set, as admin: create the missing entries,
    delete the others of those roles. `ektp broker start` does it itself; this is for a broker it does not run
    (docker-compose.yml's)."""
    done = asyncio.run(sync_acls(settings()))
    if as_json:
        print(json.dumps({"created": len(done.created), "deleted": len(done.deleted), "kept": done.kept}))
        return
    console.print(f"ACLs synced on {settings().bootstrap_servers}: {len(done.created)} created, "
                  f"{len(done.deleted)} deleted, {done.kept} kept")
