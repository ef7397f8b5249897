"""Many workers are correct only over co-partitioned topics: a worker that finds them disagree refuses to start.

faust's assignor gives partition N of every topic with the same partition count to one worker. The citizens'
table and every input of the steps that change it are keyed by citizen key; with one partition count, a
citizen's entry and every event about them live on one worker, whichever it is. A topic with another count
breaks that silently (its partition N holds other citizens), so the worker stops before it starts, saying
which topics disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.admin import admin_client
from pipeline.topology.acls import WORKER_ROLE


class TopicsNotCoPartitioned(EktpError):
    """Topics that must share one partition count do not."""


def disagreement(counts: Mapping[str, int]) -> str | None:
    """What is wrong when `counts` (topic -> partitions) are not all one number; None when they are."""
    if len(set(counts.values())) <= 1:
        return None
    listed = ", ".join(f"{name} has {count}" for name, count in sorted(counts.items()))
    return (f"co-partitioned topics disagree on their partition counts: {listed}. The citizens' table and every "
            "input of the steps that change it must have one count (EKTP_TOPIC_PARTITIONS), or two workers could "
            "each hold part of one citizen; recreate the odd topics with that count")


async def check_co_partitioned(settings: Settings, names: Iterable[str]) -> None:
    """Raise `TopicsNotCoPartitioned` unless every topic of `names` has the same number of partitions."""
    wanted = list(dict.fromkeys(names))
    async with admin_client(settings, role=WORKER_ROLE) as admin:
        described = await admin.describe_topics(wanted)
    counts = {topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0}
    missing = sorted(set(wanted) - set(counts))
    if missing:
        raise TopicsNotCoPartitioned(f"topics the worker needs do not exist: {', '.join(missing)}")
    problem = disagreement(counts)
    if problem:
        raise TopicsNotCoPartitioned(problem)
