"""Print dispatch's agent: print-ready decisions become print jobs for the office's printing stations.

Thin: the rule is `processors.print_dispatch.print_job_for`. Which job prints first when blanks are short,
and waiting for blanks, are the station's to decide: it holds the stock (`pipeline/station/queue.py`).
"""

from __future__ import annotations

from typing import Any

import faust

from events.approval import ApprovalDecided
from events.common import utc_now
from pipeline.logs import bind_message_context, get_logger
from pipeline.topology.topics import PRINT_REQUESTED
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import encode
from pipeline.worker.agents.unreadable import SetAside, readable
from pipeline.worker.wiring import StepTopics, Wiring
from processors.print_dispatch import print_job_for

log = get_logger(__name__)


def wire_dispatch(wiring: Wiring, topics: StepTopics) -> None:
    """Print dispatch: `dispatch_print_jobs`."""
    print_topic = topics.output(PRINT_REQUESTED)
    set_aside = SetAside(wiring.app, topics)

    @wiring.app.agent(topics.source(), name=topics.step.name, concurrency=1)
    async def dispatch_print_jobs(stream: faust.StreamT[Any]) -> None:
        """Turn each print-ready decision into a print job for the office's printing stations."""
        async for _event, decision in readable(stream.events(), _decision, set_aside):
            job = print_job_for(decision, utc_now())
            if job is not None:
                bind_message_context(request_id=job.request_id)
                await print_topic.send(key=job.office_code.encode(), value=encode(job))
                log.info("print job queued", priority=job.priority)
                metrics.PRINT_JOBS.labels(str(job.priority)).inc()


def _decision(event: Any) -> ApprovalDecided:
    return ApprovalDecided.model_validate_json(event.value)
