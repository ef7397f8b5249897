"""The thin edge between faust and our models: raw topics, JSON out, message positions."""

from __future__ import annotations

import weakref
from typing import Any

import faust
from faust.streams import _current_event
from pydantic import BaseModel

from pipeline.topics import TopicSpec


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


def act_for(event: Any) -> None:
    """Make `event` the current event of this task, as faust's stream iteration does for one event.

    Table writes go to the changelog partition of the current event; work on a batch split into tasks
    must name each task's own event, or every write lands in the partition of the batch's last event.
    """
    _current_event.set(weakref.ref(event))
