"""The README tells the truth about the project's commands and settings."""

from __future__ import annotations

import re

import pytest

from pipeline.cli.config import settings_table_markdown
from pipeline.config import Settings
from pipeline.topology.acls import acls, markdown_table
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


# A file or folder of the repository, as the documents name it in backticks or a link.
_NAMED_PATH = re.compile(r"[`(]((?:pipeline|processors|events|central_sim|tests|docs|deploy|bench)/[\w./-]*\w/?)[`)#]")


@pytest.mark.parametrize("document", ["README.md", "docs/architecture.md"])
def test_every_file_the_documents_name_exists(document: str) -> None:
    """A module that moves or goes takes its mentions with it: the documents never point at nothing."""
    text = (ROOT / document).read_text()
    named = {match.group(1) for match in _NAMED_PATH.finditer(text)}
    base = (ROOT / document).parent
    missing = sorted(path for path in named if not (ROOT / path).exists() and not (base / path).exists())
    assert named
    assert missing == []


def test_the_readme_security_table_is_the_derived_acls() -> None:
    """The table of what each role may do is `ektp acl list --markdown` of the default app id, between its markers."""
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("<!-- acl-table:start -->\n", 1)[1].split("<!-- acl-table:end -->", 1)[0]
    assert shown == markdown_table(acls(Settings().app_id))
