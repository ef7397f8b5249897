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
    it with 0 partitions stops the agent for good (`PartitionsMismatch`).
    """
    return [
        TopicSpec(
            name=table.changelog_topic.get_topic_name(), key="table key", value="table value (JSON)",
            cleanup_policy="compact",
            retention_ms=FOREVER, partitions=table.partitions, internal=True,
        )
        for table in app.tables.values()
    ]
