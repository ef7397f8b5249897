"""`ektp acl list`: the derived ACLs as a table and as JSON lines, one per ACL; `ektp acl sync`: what it did."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipeline.broker.authorization import AclSync
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


def test_acl_sync_syncs_with_the_settings_and_counts_what_it_did(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = acls(Settings().app_id)
    asked: list[Settings] = []

    async def fake_sync(settings: Settings) -> AclSync:
        asked.append(settings)
        return AclSync(created=tuple(entries[:3]), deleted=tuple(entries[3:4]), kept=len(entries) - 3)

    monkeypatch.setattr("pipeline.cli.acl.sync_acls", fake_sync)
    result = runner.invoke(app, ["acl", "sync", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"created": 3, "deleted": 1, "kept": len(entries) - 3}
    result = runner.invoke(app, ["acl", "sync"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"3 created, 1 deleted, {len(entries) - 3} kept" in result.stdout
    assert len(asked) == 2
    assert isinstance(asked[0], Settings)
