"""The tree shows the architecture: folders with one job each, imports that only point down, tests that mirror."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

# What each top-level package may import of ours (docs/architecture.md, "Layout").
MAY_IMPORT = {
    "events": {"events"},
    "processors": {"events", "processors"},
    "central_sim": {"events", "central_sim"},
}
OURS = {"events", "processors", "pipeline", "central_sim", "tests"}
PROVING = "pipeline.proving"
# The command line runs everything, the proving tools among them; nothing else of the running system may.
MAY_IMPORT_PROVING = ("pipeline/proving/", "pipeline/cli/")
ROW = re.compile(r"^\| `(?P<folder>[a-z_/]+)/` \|", re.M)


def modules(package: str) -> Iterator[Path]:
    yield from (path for path in (ROOT / package).rglob("*.py") if "__pycache__" not in path.parts)


def imported(path: Path) -> set[str]:
    """The modules `path` imports, as dotted names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def packages_under(folder: Path) -> list[Path]:
    return sorted(path.parent for path in folder.glob("*/__init__.py"))


def test_the_root_of_pipeline_holds_few_modules() -> None:
    """Everything of the pipeline lives in a folder named for its part, but for a handful of shared modules."""
    loose = sorted(path.name for path in (ROOT / "pipeline").glob("*.py"))
    assert len(loose) <= 6, loose


def test_lower_layers_import_nothing_above_them() -> None:
    """events imports nothing of ours, processors only events, central_sim only events."""
    for package, allowed in MAY_IMPORT.items():
        for path in modules(package):
            ours = {name.split(".")[0] for name in imported(path)} & OURS
            assert ours <= allowed, f"{path.relative_to(ROOT)} imports {sorted(ours - allowed)}"


def test_the_running_system_imports_nothing_of_the_proving_tools() -> None:
    """The worker, station, desk and dashboard never depend on the sandbox, the synthetic residents or the bench."""
    for path in modules("pipeline"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(MAY_IMPORT_PROVING):
            continue
        assert not any(name.startswith(PROVING) for name in imported(path)), relative


def test_the_readme_layout_table_is_the_tree() -> None:
    """Each folder of pipeline/ and each top-level package has a row with its job; no row names one that is gone."""
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):readme.index("## Measured on this machine")]
    rows = set(ROW.findall(layout))
    folders = {path.relative_to(ROOT).as_posix() for path in packages_under(ROOT / "pipeline")}
    folders |= {"events", "processors", "central_sim", "docs", "deploy", "examples", "tests", "bench"}
    assert rows == folders


def test_every_package_says_its_job() -> None:
    """A newcomer opening a folder's `__init__.py` reads what the folder is for."""
    for package in packages_under(ROOT / "pipeline"):
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert docstring, package.relative_to(ROOT)


def test_the_unit_and_integration_tests_mirror_the_source_tree() -> None:
    """A test folder names a folder of the source: `tests/unit/pipeline/worker/` tests `pipeline/worker/`."""
    for kind in ("unit", "integration"):
        base = ROOT / "tests" / kind
        for folder in (path for path in base.rglob("*") if path.is_dir() and path.name != "__pycache__"):
            source = ROOT / folder.relative_to(base)
            assert source.is_dir(), f"{folder.relative_to(ROOT)} mirrors no source folder"
