"""`ektp config show`: every setting, its environment variable and its value (secrets hidden)."""

from __future__ import annotations

import typer

from pipeline.cli.context import console, settings
from pipeline.config import Settings

app = typer.Typer(help="The settings (`EKTP_` environment variables).", no_args_is_help=True)


def settings_table_markdown() -> str:
    """The settings as the Markdown table the README shows."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = "(derived)" if field.default_factory or field.default is None else field.default
        if hasattr(default, "get_secret_value"):
            default = "(a dev-only value; set it)"
        rows.append(f"| `EKTP_{name.upper()}` | `{default}` | {field.description or ''} |")
    return "\n".join(rows)


@app.command()
def show(markdown: bool = typer.Option(False, "--markdown", help="The README's settings table")) -> None:
    """Print the settings in force."""
    if markdown:
        print(settings_table_markdown())
        return
    for name, value in settings().model_dump().items():
        console.print(f"EKTP_{name.upper()}={value}")
