"""Which partition a keyed record goes to: Kafka's default partitioner, murmur2 of the key, remembered per key.

Every producer of the pipeline, the Java clients and other vendors' programs included, places a keyed record by
murmur2 of its key modulo the topic's partition count; co-partitioning rests on all of them agreeing. aiokafka
computes murmur2 in pure Python on every send, and a worker sends each citizen's key several times per request
(its outputs and its statuses), so `KeyPartitioner` computes it once per key and remembers the last
`REMEMBERED_KEYS` of them. It returns exactly what aiokafka's `DefaultPartitioner` returns.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

from aiokafka.partitioner import murmur2

REMEMBERED_KEYS = 1 << 16  # about 10 MB: the keys of every request a worker has in flight under full load


@lru_cache(maxsize=REMEMBERED_KEYS)
def key_hash(key: bytes) -> int:
    """murmur2 of `key` as Kafka's default partitioner takes it: the positive 31 bits."""
    hashed: int = murmur2(key)
    return hashed & 0x7FFFFFFF


def key_partition(key: bytes, partitions: Sequence[int]) -> int:
    """The partition of `partitions` (all of a topic's, in id order) that a record keyed `key` goes to."""
    return partitions[key_hash(key) % len(partitions)]


class KeyPartitioner:
    """aiokafka's and faust's partitioner (`producer_partitioner`): the default one, with each key's hash kept."""

    def __call__(self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
        if key is None:  # as the default partitioner: any partition that has a leader now
            return random.choice(available or all_partitions)  # noqa: S311 - spreading load, not a secret
        return key_partition(key, all_partitions)
