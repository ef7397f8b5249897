"""The alerts for the operator on call, as the dashboard sees them: which conditions of the rules hold now.

Prometheus evaluates the alerting rules of `alerts.yml` (beside this module, shipped in the package;
`deploy/prometheus/alerts.yml` is the same file) on the processes' metrics. The dashboard shows the same
conditions in the same words: `AlertWatch.conditions(overview)` tests each rule's condition on the
dashboard's overview, lets it count only once it has held for the rule's `for`, and renders the rule's
annotations. Names, severities, durations and words come from the rules file, so the page and the alerts
cannot drift apart; only each condition is written twice, in PromQL there and as a check here, each check
beside the expression it mirrors (tests pin their thresholds to the expressions).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

import yaml

from pipeline.errors import EktpError

RULES_FILE = "alerts.yml"

# The numbers of the expressions in alerts.yml that the checks below share.
DEAD_LETTER_WAIT_LIMIT = 3600.0  # EktpDeadLetterWaitingTooLong: `> 3600`
BLANKS_HORIZON = 86400.0  # EktpBlankCardsRunningOut: `< 86400`
LAG_COMPARED_WITH = 300.0  # EktpConsumerLagGrowing: `offset 5m`
LOOKBACK = 300.0  # Prometheus' lookback: a sample older than this before a moment is no value at it
DESK_WAIT_LIMIT = 900.0  # EktpDeskOutboxNotDraining: `> 900`

SEVERITY_ORDER = ("critical", "warning", "info")
WORDS = ("summary_id", "summary_en", "description_id", "description_en")

# The only template forms the rules may use: `{{ $labels.station }}`, `{{ $value }}`,
# `{{ $value | humanizeDuration }}`.
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)
_LABEL = re.compile(r"^\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*$")
_VALUE = re.compile(r"^\s*\$value\s*(?:\|\s*(humanizeDuration)\s*)?$")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class AlertRulesError(EktpError):
    """The rules file cannot be read, or it and the checks here disagree on which alerts exist."""


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule of the file: what the dashboard needs of it."""

    name: str
    expr: str
    hold_for: float  # seconds the condition must hold before the alert counts (the rule's `for`)
    severity: str
    annotations: Mapping[str, str]

    def render(self, word: str, labels: Mapping[str, str], value: float) -> str:
        """An annotation with its `{{ ... }}` filled in as Prometheus fills it."""
        return _TEMPLATE.sub(lambda found: _fill(found[1], labels, value), self.annotations[word])


def _fill(template: str, labels: Mapping[str, str], value: float) -> str:
    label = _LABEL.match(template)
    if label:
        return labels[label[1]]
    plain = _VALUE.match(template)
    if plain:
        return humanize_duration(value) if plain[1] else go_value(value)
    raise AlertRulesError(f"template {{{{{template}}}}} is none the dashboard renders")


def humanize_duration(seconds: float) -> str:
    """Prometheus' `humanizeDuration`: `1h 2m 0s`, `16m 0s`, `42.5s`, `0s`, `250ms`."""
    if math.isnan(seconds) or math.isinf(seconds):
        return _go_g(seconds)
    if seconds == 0:
        return "0s"
    sign, value = ("-", -seconds) if seconds < 0 else ("", seconds)
    if value >= 60:
        return sign + _days_to_seconds(int(value))
    if value >= 1:
        return f"{sign}{_go_g(value)}s"
    prefix = ""
    for smaller in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if value >= 1:
            break
        prefix, value = smaller, value * 1000
    return f"{sign}{_go_g(value)}{prefix}s"


def _days_to_seconds(whole: int) -> str:
    """`1d 2h 3m 4s`, from the largest unit that is not 0 down to whole seconds."""
    amounts = (whole // 86400, whole // 3600 % 24, whole // 60 % 60, whole % 60)
    first = next(index for index, amount in enumerate(amounts) if amount)
    return " ".join(f"{amount}{unit}" for amount, unit in zip(amounts[first:], "dhms"[first:], strict=True))


def _go_g(number: float) -> str:
    """Go's `%.4g`."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return f"{number:.4g}"


def go_value(number: float) -> str:
    """`{{ $value }}` as Go prints a float64 (`%v`): the shortest digits, with an exponent below 1e-4 and
    from 1e6 on: `225`, `0.5`, `100000`, `1e+06`, `1.234567e+06`, `1e-05`."""
    if math.isnan(number) or math.isinf(number) or number == 0:
        return _go_g(number)
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    shown = "".join(map(str, digits))
    magnitude = len(digits) + exponent - 1  # the power of ten of the first digit
    minus = "-" if sign else ""
    if magnitude < -4 or magnitude >= 6:
        mantissa = shown[0] + ("." + shown[1:] if len(shown) > 1 else "")
        return f"{minus}{mantissa}e{'-' if magnitude < 0 else '+'}{abs(magnitude):02d}"
    return minus + format(Decimal(shown).scaleb(exponent), "f")


def seconds_of(duration: str) -> float:
    """A Prometheus duration (`5m`, `1h30m`, `0s`) in seconds."""
    parts = _DURATION.findall(duration)
    if not parts or "".join(number + unit for number, unit in parts) != duration:
        raise AlertRulesError(f"{duration!r} is not a Prometheus duration")
    return float(sum(int(number) * _SECONDS[unit] for number, unit in parts))


def load_rules(text: str | None = None) -> tuple[AlertRule, ...]:
    """The alerting rules of `text`, or of the rules file shipped beside this module."""
    if text is None:
        text = resources.files(__package__ or "pipeline.dashboard").joinpath(RULES_FILE).read_text(encoding="utf-8")
    try:
        groups = yaml.safe_load(text)["groups"]
        rules = tuple(
            AlertRule(
                name=rule["alert"], expr=" ".join(rule["expr"].split()),
                hold_for=seconds_of(str(rule.get("for", "0s"))), severity=rule["labels"]["severity"],
                annotations={word: rule["annotations"][word] for word in WORDS},
            )
            for group in groups for rule in group["rules"] if "alert" in rule
        )
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise AlertRulesError(f"the alerting rules cannot be read: {type(error).__name__}: {error}") from error
    for rule in rules:  # a template the dashboard cannot fill fails here, not on the page
        unknown = [template for word in WORDS for template in _TEMPLATE.findall(rule.annotations[word])
                   if not (_LABEL.match(template) or _VALUE.match(template))]
        if unknown:
            raise AlertRulesError(f"{rule.name}: templates the dashboard does not render: {unknown}")
    return rules


@dataclass(frozen=True)
class Finding:
    """A condition holding for one subject (the link, a station, a desk, a group on a topic): the labels
    Prometheus would give the alert and its `$value`."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Look:
    """One overview, with what the checks need of the past: each group's lag on each topic 5 minutes ago."""

    overview: Mapping[str, Any]
    now: dt.datetime
    lag_before: Mapping[tuple[str, str], int]


def central_link_down(look: Look) -> list[Finding]:
    """`min without (instance, state) (ektp_central_breaker_state{state="closed"}) == 0`: the worker's breaker
    is open or half-open (unknown when the dashboard cannot read the worker's /metrics)."""
    breaker = (look.overview.get("central_link") or {}).get("breaker")
    return [Finding({}, 0.0)] if breaker is not None and breaker != "closed" else []


def dead_letter_waiting_too_long(look: Look) -> list[Finding]:
    """`max without (instance) (ektp_dlq_oldest_waiting_seconds) > 3600`."""
    oldest = (look.overview.get("dlq") or {}).get("oldest_waiting_seconds")
    return [Finding({}, float(oldest))] if oldest is not None and oldest > DEAD_LETTER_WAIT_LIMIT else []


def blank_cards_running_out(look: Look) -> list[Finding]:
    """`blank_stock / rate(printed[5m]) < 86400 or blank_stock <= 0`: the station's forecast on the page, which
    is 0 s for a station with no blanks and none for one that prints nothing."""
    found = []
    for station in look.overview.get("stations") or ():
        forecast = station.get("forecast")
        if forecast is not None and forecast["seconds"] < BLANKS_HORIZON:
            found.append(Finding({"station": station["id"]}, float(forecast["seconds"])))
    return found


def consumer_lag_growing(look: Look) -> list[Finding]:
    """`sum by (group, topic) (ektp_consumer_lag) > sum by (group, topic) (ektp_consumer_lag offset 5m)`."""
    found = []
    for (group, topic), lag in sorted(lag_by_group_and_topic(look.overview).items()):
        before = look.lag_before.get((group, topic))
        if before is not None and lag > before:
            found.append(Finding({"group": group, "topic": topic}, float(lag)))
    return found


def no_worker_alive(look: Look) -> list[Finding]:
    """`absent(up{job="worker"} == 1)`: the worker group has no member (unknown when Kafka was not read)."""
    if not look.overview.get("topics"):
        return []
    return [] if look.overview.get("workers") else [Finding({}, 1.0)]


def desk_outbox_not_draining(look: Look) -> list[Finding]:
    """`ektp_desk_outbox_oldest_pending_seconds > 900`: from each desk's last report, as the page shows it."""
    return [
        Finding({"desk": desk["id"]}, float(desk["oldest_waiting_s"]))
        for desk in look.overview.get("desks") or ()
        if desk.get("oldest_waiting_s") is not None and desk["oldest_waiting_s"] > DESK_WAIT_LIMIT
    ]


# Which check mirrors which rule of alerts.yml: every rule has one, and every check a rule.
CHECKS: Mapping[str, Callable[[Look], list[Finding]]] = {
    "EktpCentralLinkDown": central_link_down,
    "EktpDeadLetterWaitingTooLong": dead_letter_waiting_too_long,
    "EktpBlankCardsRunningOut": blank_cards_running_out,
    "EktpConsumerLagGrowing": consumer_lag_growing,
    "EktpNoWorkerAlive": no_worker_alive,
    "EktpDeskOutboxNotDraining": desk_outbox_not_draining,
}


def lag_by_group_and_topic(overview: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """The overview's lag rows summed over partitions, per group and topic."""
    totals: dict[tuple[str, str], int] = {}
    for row in overview.get("lag") or ():
        key = (row["group"], row["topic"])
        totals[key] = totals.get(key, 0) + int(row["lag"])
    return totals


@dataclass
class LagHistory:
    """The summed lag of each group on each topic, as far back as `offset 5m` and its lookback reach."""

    samples: deque[tuple[dt.datetime, dict[tuple[str, str], int]]] = field(default_factory=deque)

    def add(self, at: dt.datetime, lags: dict[tuple[str, str], int]) -> None:
        self.samples.append((at, lags))
        keep_from = at - dt.timedelta(seconds=LAG_COMPARED_WITH + LOOKBACK)
        while self.samples and self.samples[0][0] < keep_from:
            self.samples.popleft()

    def before(self, now: dt.datetime) -> dict[tuple[str, str], int]:
        """Each lag as it was `LAG_COMPARED_WITH` ago: the latest sample then, if not older than the lookback."""
        then = now - dt.timedelta(seconds=LAG_COMPARED_WITH)
        found: dict[tuple[str, str], int] = {}
        for at, lags in self.samples:
            if at > then:
                break
            if at >= then - dt.timedelta(seconds=LOOKBACK):
                found.update(lags)  # later samples overwrite earlier ones: the latest value of each
        return found


def _key(name: str, labels: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


@dataclass
class AlertWatch:
    """Evaluates the rules' conditions on each overview and remembers since when each has held."""

    rules: Sequence[AlertRule] = field(default_factory=load_rules)
    lag: LagHistory = field(default_factory=LagHistory)
    _since: dict[tuple[str, tuple[tuple[str, str], ...]], dt.datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        named = {rule.name for rule in self.rules}
        if named != set(CHECKS):
            raise AlertRulesError(f"rules without a check: {sorted(named - set(CHECKS))}; "
                                  f"checks without a rule: {sorted(set(CHECKS) - named)}")

    def conditions(self, overview: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The alerts that hold at the overview's `generated_at`, most severe first, each with its words.

        Call it once per overview, in order: a condition counts once it has held for its rule's `for` over the
        overviews seen, as a Prometheus alert fires once it has been pending that long.
        """
        now = dt.datetime.fromisoformat(overview["generated_at"])
        if overview.get("topics"):  # the lag rows are only real when Kafka was read
            self.lag.add(now, lag_by_group_and_topic(overview))
        look = Look(overview, now, self.lag.before(now))
        holding: list[dict[str, Any]] = []
        seen = set()
        for rule in self.rules:
            for finding in CHECKS[rule.name](look):
                key = _key(rule.name, finding.labels)
                seen.add(key)
                since = self._since.setdefault(key, now)
                if (now - since).total_seconds() >= rule.hold_for:
                    holding.append(self._described(rule, finding, since))
        self._since = {key: since for key, since in self._since.items() if key in seen}
        return sorted(holding, key=lambda alert: (_rank(alert["severity"]), alert["name"],
                                                  sorted(alert["labels"].items())))

    @staticmethod
    def _described(rule: AlertRule, finding: Finding, since: dt.datetime) -> dict[str, Any]:
        return {
            "name": rule.name, "severity": rule.severity, "labels": dict(finding.labels), "value": finding.value,
            "since": since.isoformat(),
            **{word: rule.render(word, finding.labels, finding.value) for word in WORDS},
        }


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
