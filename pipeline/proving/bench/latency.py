"""Latencies from the status timelines of `ektp.request.status`: per step and end to end, as percentiles.

Each timeline entry carries the time of the event that caused it (the step's own clock), so the latency of
a step is the time from the entry before it to its own; the first step is timed from when the bench sent
the submission. Pure functions: the bench collects, these summarise.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from events.status import RequestState, RequestStatus

SUBMITTED = "SUBMITTED"
PERCENTILES = (50, 95, 99)


def percentile(sorted_values: Sequence[float], rank: float) -> float:
    """The `rank`-th percentile (nearest-rank method) of values sorted ascending; 0.0 for none."""
    if not sorted_values:
        return 0.0
    index = max(math.ceil(rank / 100 * len(sorted_values)) - 1, 0)
    return sorted_values[min(index, len(sorted_values) - 1)]


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    """p50, p95 and p99 (and the largest) of durations in seconds, as milliseconds rounded to 0.1."""
    ordered = sorted(seconds)
    result = {f"p{rank}": round(percentile(ordered, rank) * 1000, 1) for rank in PERCENTILES}
    result["max"] = round(ordered[-1] * 1000, 1) if ordered else 0.0
    return result


def step_durations(status: RequestStatus, sent_at: dt.datetime) -> list[tuple[str, str, float]]:
    """(from state, to state, seconds) for each step of one request's timeline, starting at its send."""
    steps: list[tuple[str, str, float]] = []
    previous_state, previous_at = SUBMITTED, sent_at
    for entry in status.timeline:
        steps.append((previous_state, entry.state.value, (entry.at - previous_at).total_seconds()))
        previous_state, previous_at = entry.state.value, entry.at
    return steps


def time_to(status: RequestStatus, sent_at: dt.datetime, state: RequestState) -> float | None:
    """Seconds from the send to the request's first entry in `state`; None when it never got there."""
    reached = [entry.at for entry in status.timeline if entry.state == state]
    return (reached[0] - sent_at).total_seconds() if reached else None


def end_to_end(status: RequestStatus, sent_at: dt.datetime) -> float | None:
    """Seconds from the send to COLLECTED; None when the request was not collected."""
    return time_to(status, sent_at, RequestState.COLLECTED)


def latency_to(
    statuses: Iterable[RequestStatus], sent_at: Mapping[str, dt.datetime], state: RequestState
) -> dict[str, float]:
    """Percentiles of the time from the send to `state`, over the requests sent that reached it."""
    times = [time_to(status, sent_at[status.request_id], state)
             for status in statuses if status.request_id in sent_at]
    return summary_ms(seconds for seconds in times if seconds is not None)


def latency_report(
    statuses: Iterable[RequestStatus], sent_at: Mapping[str, dt.datetime]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """End-to-end percentiles, and percentiles per step named `FROM->TO`, over the requests sent."""
    totals: list[float] = []
    per_step: dict[str, list[float]] = defaultdict(list)
    for status in statuses:
        sent = sent_at.get(status.request_id)
        if sent is None:
            continue
        total = end_to_end(status, sent)
        if total is not None:
            totals.append(total)
        for before, after, seconds in step_durations(status, sent):
            per_step[f"{before}->{after}"].append(seconds)
    return summary_ms(totals), {step: summary_ms(values) for step, values in per_step.items()}
