"""Which job gets the next blank: arrival order, or first-time cards first when blanks are short."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class QueuedJob:
    """A verified job waiting for a blank, as the queue sees it."""

    job_key: str  # the journal row
    request_id: str
    priority: int  # 0 first-time (`new`), 1 replacement; lower prints first when blanks are short
    arrival: int  # the order in which the station journaled it


def next_to_print(queued: Sequence[QueuedJob], blank_stock: int) -> QueuedJob | None:
    """The job the next blank goes to; None when there is no blank or no job.

    With a blank for every queued job, arrival order. With fewer blanks than jobs, the lowest priority
    first (first-time cards before replacements: docs/architecture.md, "The KTP-el process"), arrival
    order within a priority.
    """
    if blank_stock <= 0 or not queued:
        return None
    if blank_stock >= len(queued):
        return min(queued, key=lambda job: job.arrival)
    return min(queued, key=lambda job: (job.priority, job.arrival))


def print_order(queued: Sequence[QueuedJob], blank_stock: int) -> list[QueuedJob]:
    """The jobs that the next `blank_stock` blanks go to, in the order they print (for tests and tools)."""
    remaining = list(queued)
    order: list[QueuedJob] = []
    for stock in range(blank_stock, 0, -1):
        chosen = next_to_print(remaining, stock)
        if chosen is None:
            break
        order.append(chosen)
        remaining.remove(chosen)
    return order


@dataclass
class QueueHead:
    """The front of a long queue, enough to choose a batch of `size` jobs by `next_to_print`'s rule.

    `length` is the whole queue's; `by_arrival` and `by_priority` are its first `size` jobs in each of the rule's
    two orders. A batch takes at most `size` jobs, so the job the rule picks among those not taken yet is
    always within these heads: choosing a batch costs the batch, not the queue.
    """

    length: int
    by_arrival: Sequence[QueuedJob]
    by_priority: Sequence[QueuedJob]
    _taken: set[str] = field(default_factory=set)

    def take_next(self, blank_stock: int) -> QueuedJob | None:
        """`next_to_print` over the queue's jobs not taken yet, and take it; None also past `size` jobs taken."""
        remaining = self.length - len(self._taken)
        if blank_stock <= 0 or remaining <= 0:
            return None
        order = self.by_arrival if blank_stock >= remaining else self.by_priority
        job = next((job for job in order if job.job_key not in self._taken), None)
        if job is not None:
            self._taken.add(job.job_key)
        return job
