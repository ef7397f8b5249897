"""The README tells the truth about the project's commands and settings."""

from __future__ import annotations

from pipeline.cli.config import settings_table_markdown
from tests.support import ROOT


def test_the_readme_settings_table_is_the_settings_object() -> None:
    """Each setting appears in the README as `ektp config show --markdown` prints it; none is stale."""
    readme = (ROOT / "README.md").read_text()
    assert settings_table_markdown() in readme


def test_the_readme_commands_are_make_targets_and_ci_runs_the_tests() -> None:
    """`make demo` and `make test` exist as targets, and `.ci/run` runs `make test`."""
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "setup", "bench"):
        assert f"\n{target}:" in makefile, target
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
