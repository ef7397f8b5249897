"""The chaos run's verdict, from what the topics and the station say happened: pure functions, no Kafka.

A chaos run is only worth its faults if the checks afterwards read the truth rather than the run's own
bookkeeping, so every input here is decoded from a topic (`ektp.request.status`, `ektp.enrollment.rejected`,
`ektp.print.completed`, `ektp.enrollment.recorded`, `ektp.approval.decided`) or from the station's own
journal and card folder. The invariants:

- accounted: every submitted request reaches a terminal state, and every malformed submission is a
  rejection (matched by request_id when it could be read, else by its raw bytes); `lost` counts the rest;
- printed once: no request_id has more than one distinct card serial, across print.completed, the
  station's journal and its card files (`double_printed`);
- no regression: the successive statuses of a request never move down `STATE_RANK`;
- per-citizen order: central decides a citizen's requests in the order they were recorded;
- the dead-letter stream ends with nothing pending.
"""

from __future__ import annotations

import base64
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from events.enrollment import EnrollmentRejected, RawEncoding
from events.status import RequestState, RequestStatus
from pipeline.proving.synthetic import GeneratedSubmission, Kind
from processors.status import STATE_RANK, TERMINAL_STATES


@dataclass(frozen=True)
class Observed:
    """What the run left behind, decoded, each sequence in topic order (per partition)."""

    statuses: Sequence[RequestStatus]  # every record of ektp.request.status
    rejections: Sequence[EnrollmentRejected]
    printed: Sequence[tuple[str, str]]  # (request_id, card_serial) from ektp.print.completed
    journal_cards: Sequence[tuple[str, str]]  # (request_id, card_serial) from the station's journal
    card_files: frozenset[str]  # card serials of the PNG files in the station's folder
    recorded: Sequence[tuple[str, str]]  # (citizen_key, request_id) from ektp.enrollment.recorded
    decided: Sequence[tuple[str, str]]  # (citizen_key, request_id) from ektp.approval.decided
    dlq_pending: int
    dlq_parked: int


@dataclass(frozen=True)
class Verdict:
    """The invariants, counted; `failed` names the ones that do not hold."""

    submitted: int  # messages sent, repeats and malformed ones included
    requests: int  # distinct things to account for: request_ids, plus malformed messages without one
    terminal: int  # of `requests`: a terminal status, or a rejection for a malformed message
    lost: int
    lost_examples: tuple[str, ...]
    double_printed: int
    cards_printed: int
    unknown_card_files: int  # PNGs whose serial no journal row or print.completed names
    regressions: int
    regression_examples: tuple[str, ...]
    order_violations: int
    dlq_pending: int
    dlq_parked: int
    final_states: Mapping[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        checks = {
            "lost": self.lost, "double_printed": self.double_printed, "regressions": self.regressions,
            "order_violations": self.order_violations, "dlq_pending": self.dlq_pending,
            "unknown_card_files": self.unknown_card_files,
        }
        return [name for name, count in checks.items() if count]

    @property
    def ok(self) -> bool:
        return not self.failed


def judge(submissions: Sequence[GeneratedSubmission], observed: Observed) -> Verdict:
    """Check every invariant of the module docstring against what was observed."""
    latest = latest_statuses(observed.statuses)
    regressed = regressions(observed.statuses)
    expected, lost = accounted(submissions, latest, observed.rejections)
    cards = cards_by_request([*observed.printed, *observed.journal_cards])
    known_serials = {serial for _, serial in [*observed.printed, *observed.journal_cards]}
    return Verdict(
        submitted=len(submissions),
        requests=expected,
        terminal=expected - len(lost),
        lost=len(lost),
        lost_examples=tuple(sorted(lost)[:10]),
        double_printed=sum(1 for serials in cards.values() if len(serials) > 1),
        cards_printed=sum(len(serials) for serials in cards.values()),
        unknown_card_files=len(observed.card_files - known_serials),
        regressions=len(regressed),
        regression_examples=tuple(f"{request_id}: {states}" for request_id, states in list(regressed.items())[:5]),
        order_violations=len(order_violations(observed.recorded, observed.decided)),
        dlq_pending=observed.dlq_pending,
        dlq_parked=observed.dlq_parked,
        final_states=dict(Counter(status.state.value for status in latest.values()).most_common()),
    )


def latest_statuses(statuses: Iterable[RequestStatus]) -> dict[str, RequestStatus]:
    latest: dict[str, RequestStatus] = {}
    for status in statuses:
        latest[status.request_id] = status
    return latest


def accounted(
    submissions: Sequence[GeneratedSubmission],
    latest: Mapping[str, RequestStatus],
    rejections: Sequence[EnrollmentRejected],
) -> tuple[int, set[str]]:
    """How many distinct requests must be accounted for, and which of them are not (lost).

    A malformed message without a readable request_id is named `malformed#<position>` in the lost set.
    """
    rejected_ids = {rejection.request_id for rejection in rejections if rejection.request_id_known}
    rejected_bytes = {raw_value_of(rejection) for rejection in rejections}
    expected: set[str] = set()
    lost: set[str] = set()
    for position, submission in enumerate(submissions):
        if submission.kind == Kind.MALFORMED:
            name = submission.request_id or f"malformed#{position}"
            expected.add(name)
            if submission.request_id not in rejected_ids and submission.value not in rejected_bytes:
                lost.add(name)
            continue
        request_id = submission.request_id or f"unreadable#{position}"
        expected.add(request_id)
        status = latest.get(request_id)
        if status is None or status.state not in TERMINAL_STATES:
            lost.add(request_id)
    return len(expected), lost


def raw_value_of(rejection: EnrollmentRejected) -> bytes | None:
    """The bytes the intake refused, as they were sent."""
    if rejection.raw_value is None or rejection.raw_value_encoding == RawEncoding.ABSENT:
        return None
    if rejection.raw_value_encoding == RawEncoding.BASE64:
        return base64.b64decode(rejection.raw_value)
    return rejection.raw_value.encode("utf-8")


def cards_by_request(cards: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Distinct card serials per request_id."""
    serials: dict[str, set[str]] = defaultdict(set)
    for request_id, card_serial in cards:
        serials[request_id].add(card_serial)
    return dict(serials)


def regressions(statuses: Iterable[RequestStatus]) -> dict[str, str]:
    """Request ids whose status moved down `STATE_RANK`, between records or within one timeline, each with
    the states its records went through (`A>B>C`, a timeline that falls back shown in brackets)."""
    rank: dict[str, int] = {}
    history: dict[str, list[str]] = defaultdict(list)
    regressed: set[str] = set()
    for status in statuses:
        now = STATE_RANK[status.state]
        history[status.request_id].append(status.state.value)
        if now < rank.get(status.request_id, -1):
            regressed.add(status.request_id)
        if not _timeline_rises(status):
            regressed.add(status.request_id)
            history[status.request_id].append("[" + ",".join(entry.state.value for entry in status.timeline) + "]")
        rank[status.request_id] = max(now, rank.get(status.request_id, -1))
    return {request_id: ">".join(history[request_id]) for request_id in sorted(regressed)}


def _timeline_rises(status: RequestStatus) -> bool:
    ranks = [STATE_RANK[entry.state] for entry in status.timeline]
    return all(earlier <= later for earlier, later in itertools.pairwise(ranks))


def order_violations(recorded: Sequence[tuple[str, str]], decided: Sequence[tuple[str, str]]) -> list[str]:
    """Citizen keys whose requests central decided in another order than they were recorded."""
    recorded_order = _first_seen_per_citizen(recorded)
    decided_order = _first_seen_per_citizen(decided)
    violations = []
    for citizen_key, decided_ids in decided_order.items():
        position = {request_id: index for index, request_id in enumerate(recorded_order.get(citizen_key, []))}
        indexes = [position[request_id] for request_id in decided_ids if request_id in position]
        if indexes != sorted(indexes):
            violations.append(citizen_key)
    return violations


def _first_seen_per_citizen(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = defaultdict(list)
    for citizen_key, request_id in pairs:
        if request_id not in order[citizen_key]:
            order[citizen_key].append(request_id)
    return dict(order)


def terminal(state: RequestState | None) -> bool:
    return state is not None and state in TERMINAL_STATES
