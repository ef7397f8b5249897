"""The thin edge between faust and our models: raw topics, JSON out, message positions."""

from __future__ import annotations

from typing import Any

import faust
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
