"""`ektp acl list`: the ACLs each role gets, as derived from the routing table and the topic registry."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.context import console, settings
from pipeline.topology.acls import acls

app = typer.Typer(help="Who may read and write what on the broker.", no_args_is_help=True)


@app.command("list")
def list_acls(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per ACL")] = False) -> None:
    """Every ACL, by role: the routing table's reads and writes, and what each role's clients need besides."""
    entries = acls(settings().app_id)
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
