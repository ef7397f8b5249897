"""The recovery rules: what a restarted station does with each journaled job."""

from __future__ import annotations

import pytest

from pipeline.station.config import StationConfig
from pipeline.station.crash import CrashHook, CrashPoint
from pipeline.station.errors import StationAlreadyRunning, StationError
from pipeline.station.recovery import JobState, Ownership, Resume, resume_action, settle_ownership
from pipeline.station.runner import station_lock


@pytest.mark.parametrize(
    ("crash_point", "state", "png_exists", "expected"),
    [
        (CrashPoint.AFTER_VERIFY, JobState.VERIFIED, False, Resume.QUEUE),
        (CrashPoint.AFTER_RESERVE, JobState.PRINTING, False, Resume.PRINT),
        (CrashPoint.MID_RENDER, JobState.PRINTING, False, Resume.PRINT),
        (CrashPoint.AFTER_PNG, JobState.PRINTING, True, Resume.COUNT_AS_PRINTED),
        (CrashPoint.AFTER_REPORT, JobState.PRINTED, True, Resume.REPORT),
    ],
)
def test_each_crash_point_resumes_without_printing_twice(
    crash_point: CrashPoint, state: JobState, png_exists: bool, expected: Resume
) -> None:
    """A job killed at each point resumes where it stood: a card on disk is never printed again."""
    assert resume_action(state, owned=True, png_exists=png_exists) is expected, crash_point


def test_an_unowned_job_is_settled_before_anything_else() -> None:
    """A job journaled without a known commit (killed around after_commit) is first settled."""
    assert resume_action(JobState.RECEIVED, owned=False, png_exists=False) is Resume.SETTLE_OWNERSHIP


@pytest.mark.parametrize("state", [JobState.REPORTED, JobState.REFUSED, JobState.DUPLICATE])
def test_finished_jobs_are_left_alone(state: JobState) -> None:
    """Reported, refused and duplicate jobs need nothing on restart."""
    assert resume_action(state, owned=True, png_exists=False) is Resume.NOTHING


def test_our_commit_past_the_job_makes_it_ours() -> None:
    """Killed after the commit reached Kafka: the group's offset carries our metadata, the job is ours."""
    assert settle_ownership(job_offset=4, claim_metadata="TPI-01/c1", committed_offset=5,
                            committed_metadata="TPI-01/c1") is Ownership.OURS


def test_no_commit_past_the_job_leaves_it_to_be_read_again() -> None:
    """Killed before the commit: the offset is not past the job, which comes again to whoever reads it."""
    assert settle_ownership(job_offset=4, claim_metadata="TPI-01/c1", committed_offset=4,
                            committed_metadata="TPI-01/c0") is Ownership.NOT_COMMITTED
    assert settle_ownership(job_offset=4, claim_metadata="TPI-01/c1", committed_offset=None,
                            committed_metadata=None) is Ownership.NOT_COMMITTED


def test_another_stations_commit_past_the_job_means_it_is_never_printed_here() -> None:
    """A standby moved past the job: it may print it, so this station must not."""
    assert settle_ownership(job_offset=4, claim_metadata="TPI-01/c1", committed_offset=9,
                            committed_metadata="TPI-02/c7") is Ownership.PASSED_BY_ANOTHER


def test_crash_hook_fires_at_the_nth_passage_of_its_point_only() -> None:
    """`after_png:2` fires at the second PNG, never at other points."""
    fired: list[int] = []
    hook = CrashHook.parse("after_png:2")
    hook.crash = lambda: fired.append(1)
    hook.reached(CrashPoint.AFTER_VERIFY)
    hook.reached(CrashPoint.AFTER_PNG)
    assert fired == []
    hook.reached(CrashPoint.AFTER_PNG)
    assert fired == [1]


def test_a_malformed_crash_hook_is_an_error() -> None:
    """A typo in the hook is reported, not ignored."""
    with pytest.raises(StationError, match="expected <point>:<n>"):
        CrashHook.parse("after_lunch:1")


def test_a_second_process_of_the_same_station_is_refused(station_config: StationConfig) -> None:
    """Two processes on one journal would hand out one card serial twice: the second is refused."""
    station_config.station_dir.mkdir(parents=True)
    with station_lock(station_config), pytest.raises(StationAlreadyRunning), station_lock(station_config):
        pass
