"""Which job gets the next blank."""

from __future__ import annotations

import random

import pytest

from pipeline.station.queue import QueuedJob, QueueHead, next_to_print, print_order

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


def choose_from_whole_queue(queued_jobs: list[QueuedJob], stock: int, size: int, repeats: set[str]) -> list[str]:
    """The batch the rule picks over the whole queue: `next_to_print` blank by blank, repeats taking no blank."""
    remaining, chosen, picked = list(queued_jobs), 0, list[str]()
    while len(picked) < size:
        job = next_to_print(remaining, stock - chosen)
        if job is None:
            break
        remaining.remove(job)
        picked.append(job.job_key)
        chosen += job.job_key not in repeats
    return picked


def choose_from_head(queued_jobs: list[QueuedJob], stock: int, size: int, repeats: set[str]) -> list[str]:
    """The same batch from the queue's head alone: its length and first `size` jobs in each order."""
    head = QueueHead(len(queued_jobs), sorted(queued_jobs, key=lambda job: job.arrival)[:size],
                     sorted(queued_jobs, key=lambda job: (job.priority, job.arrival))[:size])
    chosen, picked = 0, list[str]()
    while len(picked) < size:
        job = head.take_next(stock - chosen)
        if job is None:
            break
        picked.append(job.job_key)
        chosen += job.job_key not in repeats
    return picked


@pytest.mark.parametrize("seed", range(200))
def test_a_batch_chosen_from_the_queues_head_is_the_batch_the_rule_picks_from_the_whole_queue(seed: int) -> None:
    """Any queue, stock, batch size and set of repeated requests (which take no blank): the same jobs, same order."""
    rng = random.Random(seed)
    jobs = queued(*(rng.choice((NEW, REPLACEMENT)) for _ in range(rng.randint(0, 60))))
    rng.shuffle(jobs)  # the head's orders come from the journal's queries, not from the queue's order
    repeats = {job.job_key for job in jobs if rng.random() < 0.2}
    stock, size = rng.randint(0, 70), rng.randint(1, 25)
    assert choose_from_head(jobs, stock, size, repeats) == choose_from_whole_queue(jobs, stock, size, repeats)


def test_blanks_short_then_enough_after_repeats_switch_the_head_to_arrival_order() -> None:
    """Two blanks for three jobs, the first picked a repeat: then a blank each, so arrival order takes over."""
    jobs = queued(REPLACEMENT, NEW, NEW)
    picked = choose_from_head(jobs, stock=2, size=3, repeats={"job-2"})
    assert picked == ["job-2", "job-1", "job-3"]
    assert picked == choose_from_whole_queue(jobs, stock=2, size=3, repeats={"job-2"})
