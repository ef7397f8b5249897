"""The thin edge between faust and our models: raw topics, JSON out, message positions."""

from __future__ import annotations

import weakref
from typing import Any

import faust
from faust.streams import _current_event
from pydantic import BaseModel

from pipeline.topology.topics import FOREVER, TopicSpec


def raw_topic(app: faust.App, spec: TopicSpec) -> faust.TopicT:
    """A faust topic whose keys and values are the bytes on the wire: our models do the decoding."""
    return app.topic(spec.name, key_serializer="raw", value_serializer="raw", partitions=None)


def encode(model: BaseModel) -> bytes:
    """A model as the JSON bytes of its topic."""
    return model.model_dump_json().encode()


def key_bytes(key: str | None) -> bytes | None:
    return key.encode() if key is not None else None


def position(event: Any) -> tuple[str, int, int]:
    """Topic, partition and offset of the faust event being processed."""
    message = event.message
    return message.topic, message.partition, message.offset


def message_id(event: Any) -> str:
    """The position of the faust event being processed as one string: `topic@partition:offset`."""
    topic, partition, offset = position(event)
    return f"{topic}@{partition}:{offset}"


def act_for(event: Any) -> None:
    """Make `event` the current event of this task, as faust's stream iteration does for one event.

    Table writes go to the changelog partition of the current event; work on a batch split into tasks
    must name each task's own event, or every write lands in the partition of the batch's last event.
    """
    _current_event.set(weakref.ref(event))


def changelog_specs(app: faust.App) -> list[TopicSpec]:
    """The changelog topic of every table of `app`, for `ensure_topics` to create before faust starts.

    Left to faust, a changelog is created as the worker starts, and a consumer whose metadata still shows
    it with 0 partitions stops the agent for good (`PartitionsMismatch`, seen in `ektp bench`).
    """
    return [
        TopicSpec(
            name=table.changelog_topic.get_topic_name(), key="table key", value="table value (JSON)",
            written_by="worker", read_by="worker (table recovery)", cleanup_policy="compact",
            retention_ms=FOREVER, partitions=table.partitions, internal=True,
        )
        for table in app.tables.values()
    ]


async def know_changelog(app: faust.App, table: Any) -> None:
    """Load the producer's metadata of `table`'s changelog before the table's first write.

    A table with `use_partitioner` picks the changelog partition of each write at once, from what the
    producer knows of the topic, without waiting for metadata: on a fresh producer the first write failed
    (`TypeError: 'NoneType' object is not iterable` in aiokafka's `_partition`) and the agent stopped.
    """
    producer: Any = app.producer  # faust's aiokafka driver; its interface does not show the client
    await producer._ensure_producer().partitions_for(table.changelog_topic.get_topic_name())


def end_batches_when_stopping(agent: Any) -> None:
    """A batching agent (`take_events`) ends its loop when it stops, instead of waiting to be cancelled.

    `take_events` leaves its loop only when its stream stops, and faust stops an agent by cancelling its
    task once and then waiting for it for ever. The worker's stacks on SIGQUIT showed that cancellation
    lost: the status tracker's task stayed "cancelling" inside `take_events`, and the worker never stopped
    (2 of 5 runs of `test_restart_backlog` or the integration suite under load; most likely the last CI
    failure too, whose dump lacked the tasks). Stopping its streams first ends that loop within one
    `within`; the batch in hand is acked as usual.
    """
    on_stop = agent.on_stop

    async def on_stop_streams_first() -> None:
        for actor in list(agent._actors):
            await actor.stream.stop()
        await on_stop()

    agent.on_stop = on_stop_streams_first
