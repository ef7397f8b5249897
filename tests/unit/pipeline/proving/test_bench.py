"""The bench's pure parts: percentiles from status timelines, the relay's path."""

from __future__ import annotations

import datetime as dt

from events.status import RequestState, RequestStatus, TimelineEntry
from pipeline.proving.bench.latency import latency_report, percentile, step_durations, summary_ms
from pipeline.proving.bench.relay import PIPELINE_HOPS, PIPELINE_PATH
from pipeline.topology.topics import BY_NAME

T0 = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)


def status(request_id: str, *steps: tuple[RequestState, float]) -> RequestStatus:
    timeline = tuple(TimelineEntry(state=state, at=T0 + dt.timedelta(seconds=at)) for state, at in steps)
    last_state, last_at = steps[-1]
    return RequestStatus(
        request_id=request_id, state=last_state, terminal=last_state == RequestState.COLLECTED,
        updated_at=T0 + dt.timedelta(seconds=last_at), office_code="2172", explanation_id="-", explanation_en="-",
        timeline=timeline,
    )


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(number) for number in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) == 0.0
    assert summary_ms([0.1, 0.2]) == {"p50": 100.0, "p95": 200.0, "p99": 200.0, "max": 200.0}


def test_each_step_is_timed_from_the_one_before_and_the_first_from_the_send() -> None:
    collected = status("r1", (RequestState.RECORDED, 1.0), (RequestState.PRINTED, 1.5), (RequestState.COLLECTED, 4.0))
    assert step_durations(collected, T0) == [
        ("SUBMITTED", "RECORDED", 1.0), ("RECORDED", "PRINTED", 0.5), ("PRINTED", "COLLECTED", 2.5),
    ]


def test_end_to_end_counts_only_collected_requests_that_were_sent() -> None:
    done = status("done", (RequestState.RECORDED, 1.0), (RequestState.COLLECTED, 3.0))
    waiting = status("waiting", (RequestState.RECORDED, 2.0))
    stranger = status("stranger", (RequestState.COLLECTED, 9.0))
    total, steps = latency_report([done, waiting, stranger], {"done": T0, "waiting": T0})
    assert total["p50"] == 3000.0
    assert steps["SUBMITTED->RECORDED"]["max"] == 2000.0
    assert steps["RECORDED->COLLECTED"]["p99"] == 2000.0


def test_the_baseline_relays_through_every_topic_a_request_takes() -> None:
    assert all(topic in BY_NAME for topic in PIPELINE_PATH)
    assert PIPELINE_HOPS == len(PIPELINE_PATH) - 1 == 10
