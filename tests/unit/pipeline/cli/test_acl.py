"""`ektp acl list`: the derived ACLs as a table and as JSON lines, one per ACL."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import Settings
from pipeline.topology.acls import acls

runner = CliRunner()


def test_acl_list_json_is_every_derived_acl_once() -> None:
    result = runner.invoke(app, ["acl", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    expected = acls(Settings().app_id)
    assert len(listed) == len(expected)
    assert {(row["principal"], row["operation"], row["name"]) for row in listed} == {
        (entry.principal, entry.operation, entry.name) for entry in expected}


def test_acl_list_shows_each_role() -> None:
    result = runner.invoke(app, ["acl", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for role in ("worker", "desk", "station", "pickup-desk", "operator"):
        assert f"│ {role}" in result.stdout
