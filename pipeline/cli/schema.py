"""`ektp schema export|check`: the contracts other vendors build against (JSON Schema, AsyncAPI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.context import console
from pipeline.topology.contracts import SCHEMA_SUFFIX, contract_files

app = typer.Typer(help="The published contracts: a JSON Schema per message, an AsyncAPI document of the topics.",
                  no_args_is_help=True)

Directory = Annotated[Path, typer.Argument(help="Where the contracts live, e.g. docs/contracts",
                                           file_okay=False)]


def differences(directory: Path, expected: dict[str, str] | None = None) -> list[str]:
    """What in `directory` is not what the code generates: missing, changed or stale files, by name."""
    expected = contract_files() if expected is None else expected
    found: list[str] = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file():
            found.append(f"{name}: missing")
        elif path.read_bytes() != text.encode():
            found.append(f"{name}: differs from the code")
    found.extend(f"{path.name}: no longer generated (delete it)" for path in _stale(directory, expected))
    return found


def _stale(directory: Path, expected: dict[str, str]) -> list[Path]:
    return sorted(path for path in directory.glob(f"*{SCHEMA_SUFFIX}") if path.name not in expected)


@app.command()
def export(directory: Directory) -> None:
    """Write a JSON Schema per message and asyncapi.yaml into DIRECTORY (created when missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = contract_files()
    for name, text in files.items():
        # Bytes, not text mode: the same file on every platform, so the committed copy diffs cleanly.
        (directory / name).write_bytes(text.encode())
    console.print(f"wrote {len(files)} contract files to {directory}")
    for path in _stale(directory, files):
        console.print(f"[yellow]stale:[/] {path} is no longer generated; delete it")


@app.command()
def check(directory: Directory) -> None:
    """Exit 1 when DIRECTORY differs from what the code generates (a model changed, no export since)."""
    problems = differences(directory)
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    if problems:
        console.print(f"run `ektp schema export {directory}` and commit the result")
        raise typer.Exit(1)
    console.print(f"{directory}: up to date")
