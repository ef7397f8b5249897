"""Which job gets the next blank."""

from __future__ import annotations

from pipeline.station.queue import QueuedJob, next_to_print, print_order

NEW, REPLACEMENT = 0, 1


def queued(*priorities: int) -> list[QueuedJob]:
    return [QueuedJob(f"job-{arrival}", f"req-{arrival}", priority, arrival)
            for arrival, priority in enumerate(priorities, start=1)]


def test_with_a_blank_for_every_job_jobs_print_in_arrival_order() -> None:
    """Enough blanks: a replacement that came first prints first."""
    jobs = queued(REPLACEMENT, NEW, REPLACEMENT, NEW)
    assert [job.arrival for job in print_order(jobs, blank_stock=4)] == [1, 2, 3, 4]


def test_when_blanks_are_short_first_time_cards_print_before_replacements() -> None:
    """Fewer blanks than jobs: the blanks go to first-time requests, in arrival order."""
    jobs = queued(REPLACEMENT, NEW, REPLACEMENT, NEW)
    assert [job.arrival for job in print_order(jobs, blank_stock=2)] == [2, 4]


def test_short_blanks_reach_replacements_after_every_first_time_request() -> None:
    """Three blanks for four jobs: both first-time cards, then the earliest replacement."""
    jobs = queued(REPLACEMENT, NEW, REPLACEMENT, NEW)
    assert [job.arrival for job in print_order(jobs, blank_stock=3)] == [2, 4, 1]


def test_no_blank_means_no_job_is_chosen() -> None:
    """Out of blanks: nothing prints."""
    assert next_to_print(queued(NEW), blank_stock=0) is None
    assert next_to_print([], blank_stock=5) is None
