"""The bench's pure parts: percentiles from status timelines, the relay's path, the disk probe."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path

from events.status import RequestState, RequestStatus, TimelineEntry
from pipeline.proving.bench.cost import Cost, cpu_seconds
from pipeline.proving.bench.endtoend import StatusFollower
from pipeline.proving.bench.latency import latency_report, latency_to, percentile, step_durations, summary_ms, time_to
from pipeline.proving.bench.machine import file_create_cpu_ms
from pipeline.proving.bench.relay import PIPELINE_HOPS, PIPELINE_PATH
from pipeline.topology.routes import readers_of
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


def test_the_disk_probe_leaves_its_files_where_it_made_them(tmp_path: Path) -> None:
    # Deleting them would make the run's own creates dearer (machine.file_create_cpu_ms).
    cost = file_create_cpu_ms(tmp_path, count=5)
    assert cost >= 0
    made = sorted(path.name for path in (tmp_path / "file-create-probe").iterdir())
    assert made == sorted(f"probe-{index}.png" for index in range(5))


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
    assert len(PIPELINE_PATH) - 1 == PIPELINE_HOPS
    for before, after in itertools.pairwise(PIPELINE_PATH):
        hop = [who for who in readers_of(BY_NAME[before]) if BY_NAME[after] in who.writes]
        assert hop, f"nobody of the routing table reads {before} and writes {after}"


def test_the_time_to_a_state_counts_from_the_send_and_skips_requests_that_never_got_there() -> None:
    """READY_FOR_PICKUP latency is measured to the first such entry of each request that reached it."""
    ready = status("ready", (RequestState.RECORDED, 1.0), (RequestState.READY_FOR_PICKUP, 2.5))
    waiting = status("waiting", (RequestState.RECORDED, 2.0))
    assert time_to(ready, T0, RequestState.READY_FOR_PICKUP) == 2.5
    assert time_to(waiting, T0, RequestState.READY_FOR_PICKUP) is None
    report = latency_to([ready, waiting], {"ready": T0, "waiting": T0}, RequestState.READY_FOR_PICKUP)
    assert report == {"p50": 2500.0, "p95": 2500.0, "p99": 2500.0, "max": 2500.0}


def test_a_request_costs_the_records_and_cpu_of_its_window_divided_by_the_requests() -> None:
    """Records and worker CPU are shared out over the requests collected; none collected costs nothing."""
    cost = Cost(records=3600, cpu_seconds=1.2, requests=200)
    assert cost.records_per_request == 18.0
    assert cost.cpu_ms_per_request == 6.0
    assert Cost(records=10, cpu_seconds=1.0, requests=0).records_per_request == 0.0


def test_the_cpu_of_a_live_process_is_read_from_proc_and_a_gone_one_counts_nothing() -> None:
    """This test's own process has spent some CPU; a pid that does not exist adds nothing."""
    assert cpu_seconds([os.getpid()]) > 0
    assert cpu_seconds([2**22 + 7]) == 0.0


def test_status_follower_keeps_the_latest_status_and_reads_its_timeline_at_the_end() -> None:
    """The follower counts states as statuses come, knows when every request is collected, and gives each
    request's latest status with its whole timeline; others' requests and unreadable values are left out."""
    follower = StatusFollower({"r-1", "r-2"})
    steps = [(RequestState.SUBMITTED, 0.0), (RequestState.RECORDED, 0.1), (RequestState.COLLECTED, 2.0)]
    for count in range(1, len(steps) + 1):
        follower._take(b"r-1", status("r-1", *steps[:count]).model_dump_json().encode())
    follower._take(b"r-2", status("r-2", *steps[:2]).model_dump_json().encode())
    follower._take(b"r-3", status("r-3", *steps).model_dump_json().encode())
    follower._take(b"r-2", b"{not json")
    assert follower.states() == {"COLLECTED": 1, "RECORDED": 1}
    assert follower.collected == {"r-1"}
    assert not follower.all_collected.is_set()
    [first] = [each for each in follower.statuses() if each.request_id == "r-1"]
    assert [entry.state for entry in first.timeline] == [state for state, _at in steps]
    follower._take(b"r-2", status("r-2", *steps).model_dump_json().encode())
    assert follower.all_collected.is_set()
    assert sorted(each.request_id for each in follower.statuses()) == ["r-1", "r-2"]
