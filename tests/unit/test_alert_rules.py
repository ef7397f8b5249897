"""The alerting rules of deploy/prometheus/ are valid, fire when their tests say and stay quiet otherwise
(`promtool check rules`, `promtool test rules`), name metrics that exist, and are the rules the dashboard reads."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT
from tests.unit.test_compose import exported_metric_names

DEPLOYED = ROOT / "deploy" / "prometheus"
RULES = DEPLOYED / "alerts.yml"
RULE_TESTS = DEPLOYED / "alerts.test.yml"
PACKAGED = ROOT / "pipeline" / "dashboard" / "alerts.yml"
LOCAL_PROMTOOL = ROOT / ".tools" / "bin" / "promtool"  # where `make setup` puts it

# Metrics the rules use that no process exports yet.
PROPOSED: set[str] = set()
PROMETHEUS_OWN = {"up"}
METRIC_NAME = re.compile(r"\b(?:ektp|central_sim)_[a-z0-9_]+\b|\bup\b")
JOB_MATCHER = re.compile(r'\bjob\s*=\s*"([^"]+)"')
HOW_TO_INSTALL = (
    "promtool is missing: `make setup` puts it in .tools/bin/ (from Debian's `prometheus` package, "
    "`sh deploy/prometheus/install-promtool.sh .tools/bin`), or install Prometheus' promtool on PATH "
    "(`apt-get install prometheus`, or a release from https://prometheus.io/download/)"
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def promtool() -> Path:
    """promtool from .tools/bin, else from PATH; missing, a failure in CI and a skip elsewhere."""
    if os.access(LOCAL_PROMTOOL, os.X_OK):
        return LOCAL_PROMTOOL
    found = shutil.which("promtool")
    if found:
        return Path(found)
    if _in_ci():
        pytest.fail(HOW_TO_INSTALL, pytrace=False)
    pytest.skip(HOW_TO_INSTALL)


def run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], cwd=DEPLOYED, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"] if "alert" in rule
    ]
    return loaded


def test_the_rules_pass_promtool_check(promtool: Path) -> None:
    """`promtool check rules` accepts the file, and `check config` finds it through prometheus.yml."""
    checked = run(promtool, "check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = run(promtool, "check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout + config.stderr


def test_the_rules_fire_and_stay_quiet_as_their_unit_tests_say(promtool: Path) -> None:
    """`promtool test rules deploy/prometheus/alerts.test.yml` passes."""
    tested = run(promtool, "test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


def test_the_dashboard_ships_the_very_rules_prometheus_loads() -> None:
    """pipeline/dashboard/alerts.yml (in the package) and deploy/prometheus/alerts.yml are the same bytes."""
    assert PACKAGED.read_bytes() == RULES.read_bytes(), (
        "the two copies of the alerting rules differ: edit one, then copy it over the other "
        "(cp pipeline/dashboard/alerts.yml deploy/prometheus/alerts.yml)"
    )


def test_every_alert_has_a_severity_and_its_words_in_indonesian_and_english(rules: list[dict[str, Any]]) -> None:
    """An operator reads what fired, in either language, and how urgent it is."""
    assert len(rules) == 6
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        annotations = rule["annotations"]
        assert set(annotations) == {"summary_id", "summary_en", "description_id", "description_en"}, rule["alert"]
        assert all(text.strip() for text in annotations.values()), rule["alert"]
        assert annotations["summary_id"] != annotations["summary_en"], rule["alert"]


def test_every_alert_is_tested_firing_and_quiet(rules: list[dict[str, Any]]) -> None:
    """Each alert has a promtool case where it fires and one where it does not."""
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    for rule in rules:
        own = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in own), rule["alert"]
        assert any(not case["exp_alerts"] for case in own), rule["alert"]


def test_the_rules_name_metrics_the_processes_export(rules: list[dict[str, Any]]) -> None:
    """A renamed metric would silence an alert: each one is declared in the code, Prometheus' own, or proposed."""
    exported = exported_metric_names()
    named = {name for rule in rules for name in METRIC_NAME.findall(rule["expr"])}
    assert named - PROPOSED - PROMETHEUS_OWN, named
    assert named <= exported | PROPOSED | PROMETHEUS_OWN, named - exported - PROPOSED - PROMETHEUS_OWN
    assert named >= PROPOSED, PROPOSED - named
    assert not PROPOSED & exported, "a proposed metric is exported now: drop it from PROPOSED"


def test_the_jobs_the_rules_name_are_scrape_jobs(rules: list[dict[str, Any]]) -> None:
    """`up{job="worker"}` means nothing if prometheus.yml calls the job otherwise."""
    jobs = {job["job_name"] for job in yaml.safe_load((DEPLOYED / "prometheus.yml").read_text())["scrape_configs"]}
    named = {job for rule in rules for job in JOB_MATCHER.findall(rule["expr"])}
    assert named
    assert named <= jobs, named - jobs
