"""The thin edge between faust and our models: outputs to the producer, JSON out, message positions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from pydantic import BaseModel

from pipeline.topology.topics import FOREVER, TopicSpec

Headers = Sequence[tuple[str, bytes]] | Mapping[str, bytes]


class Output:
    """A topic a step writes: each record goes straight to the app's Kafka producer, key and value as bytes.

    faust's `Topic.send` passes a record through its channel (a `FutureMessage`, serializers, headers, sensors)
    before it reaches the same aiokafka producer, and that is about half of what a send costs the worker. A step
    needs none of it: its records are encoded already, the producer's partitioner places them as faust's would
    (`KeyPartitioner`: Kafka's murmur2 of the key), and a step awaits no single record: it flushes the producer
    (`app.producer.flush()`, which waits for every record sent this way too) before it writes its table.
    """

    def __init__(self, app: faust.App, spec: TopicSpec) -> None:
        self.app = app
        self.name = spec.name

    async def send(
        self, *, key: bytes | None, value: bytes, headers: Headers | None = None, partition: int | None = None,
    ) -> None:
        """Hand one record to the producer (to `partition`, or where its key goes); it is in the broker once the
        producer's next flush returns."""
        producer: Any = self.app.producer  # faust's aiokafka driver; `_ensure_producer` is its started producer
        listed = list(headers.items()) if isinstance(headers, Mapping) else list(headers) if headers else None
        try:
            await producer._ensure_producer().send(self.name, value, key=key, headers=listed, partition=partition)
        except KafkaError as error:  # as faust's own send reports it
            raise ProducerSendError(f"Error while sending to {self.name}: {error!r}") from error


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


def changelog_specs(app: faust.App) -> list[TopicSpec]:
    """The changelog topic of every table of `app`, for `ensure_topics` to create before faust starts.

    Left to faust, a changelog is created as the worker starts, and a consumer whose metadata still shows
    it with 0 partitions stops the agent for good (`PartitionsMismatch`).
    """
    return [changelog_spec(table) for table in app.tables.values()]


def changelog_spec(table: Any) -> TopicSpec:
    """The changelog topic of a faust `table`."""
    return TopicSpec(
        name=table.changelog_topic.get_topic_name(), key="table key", value="table value (JSON)",
        cleanup_policy="compact", retention_ms=FOREVER, partitions=table.partitions, internal=True,
    )
