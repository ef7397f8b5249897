"""A keyed record goes where Kafka's default partitioner puts it, whichever client of the pipeline sends it."""

from __future__ import annotations

import hashlib

from aiokafka.partitioner import DefaultPartitioner

from pipeline.kafka.partitioning import KeyPartitioner, key_hash, key_partition


def _keys(count: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).hexdigest().encode() for i in range(count)] + [b"", b"a", b"\xff" * 7]


def test_every_key_lands_where_the_default_partitioner_puts_it_for_any_partition_count() -> None:
    """Co-partitioning rests on every producer agreeing with Kafka's murmur2: the remembered hash changes nothing."""
    default, remembered = DefaultPartitioner(), KeyPartitioner()
    for partitions in (1, 2, 3, 6, 7, 12, 50):
        ids = list(range(partitions))
        for key in _keys(500):
            expected = default(key, ids, ids)
            assert remembered(key, ids, ids) == expected, (key, partitions)
            assert remembered(key, ids, ids) == expected, "a remembered key must land where it landed first"
            assert key_partition(key, ids) == expected


def test_a_key_is_hashed_once_however_often_its_records_are_sent() -> None:
    key_hash.cache_clear()
    partitioner = KeyPartitioner()
    for _ in range(5):
        partitioner(b"citizen-key", [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5])
    assert key_hash.cache_info().misses == 1
    assert key_hash.cache_info().hits == 4


def test_a_record_without_a_key_goes_to_a_partition_with_a_leader() -> None:
    partitioner = KeyPartitioner()
    assert {partitioner(None, [0, 1, 2, 3], [2]) for _ in range(50)} == {2}
    assert {partitioner(None, [0, 1], []) for _ in range(200)} == {0, 1}, "none has a leader: any of them"
