"""Warm standby copies of the citizen table: a worker that takes a partition over goes on from its copy.

Each table partition has a standby replica on another worker (`table_standby_replicas`), which follows the
partition's changelog so that a takeover after a crash need not replay it. faust's in-memory store does not
keep that promise by itself: it drops every key of a partition it does not own actively whenever a recovery
completes, and a partition that turns from standby to active is recovered from the changelog's beginning,
as if there were no copy. And faust hands each standby record through the same machinery as a stream
message (conductor, event, queue, its recovery loop), which makes following the other workers' changelogs
about as costly as the steps themselves.

So, for an app whose table lives in memory:

- the store keeps the keys of its standby partitions as well as its active ones (`keep_standby_copies`);
- the consumer's loop applies a standby partition's records to the store as they arrive, key and value
  decoded as faust's recovery would, and records the offset reached (`follow`, called by
  `faust_fixes.drain_messages`): the copy is the changelog's prefix up to that offset;
- when a rebalance makes a standby partition active on the same worker, its recovery starts at the offset
  the copy reached instead of at the beginning (`start_promoted_partitions_where_their_copies_stop`).

A worker that was not a partition's standby, or whose copy was dropped because the partition left it,
recovers the partition from the beginning, as faust does (`tests/integration/pipeline/worker/
test_failover.py` shows a takeover that replays nothing before the copy's offset).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TP

from pipeline.logs import get_logger

log = get_logger(__name__)


def keep_standby_copies(app: faust.App) -> None:
    """Every in-memory table of `app` keeps its standby partitions' keys, and takes a promoted one over from them."""
    for table in app.tables.values():
        store: Any = table.data  # faust's memory Store: it drops what it does not own actively
        drop_unowned = store.on_recovery_completed

        async def keep_standbys(active_tps: set[TP], standby_tps: set[TP], drop: Any = drop_unowned) -> None:
            await drop(active_tps | standby_tps, standby_tps)

        store.on_recovery_completed = keep_standbys
    start_promoted_partitions_where_their_copies_stop(app)


def start_promoted_partitions_where_their_copies_stop(app: faust.App) -> None:
    """A changelog partition that turns from standby to active here is recovered from where its copy stopped."""
    tables: Any = app.tables  # faust's TableManager; TableManagerT does not show the recovery
    recovery = tables.recovery
    rebalance = recovery.on_rebalance

    async def on_rebalance(
        assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0,
    ) -> None:
        recovery.flush_buffers()  # anything faust's own loop buffered is in the store before the offsets are read
        were_active = set(recovery.active_tps)
        reached = {tp: offset for tp, offset in recovery.standby_offsets.items()
                   if tp in recovery.standby_tps and offset is not None and offset >= 0}
        await rebalance(assigned, revoked, newly_assigned, generation_id)
        promoted = {tp: offset for tp, offset in reached.items()
                    if tp in recovery.active_tps and tp not in were_active and recovery.active_offsets.get(tp) is None}
        for tp, offset in promoted.items():  # a Counter: `update` would add the offsets to what it holds
            recovery.active_offsets[tp] = offset
        if promoted:
            log.info("partitions taken over from this worker's standby copies: recovery starts where each stopped",
                     partitions={f"{tp.topic}[{tp.partition}]": offset for tp, offset in sorted(promoted.items())})

    recovery.on_rebalance = on_rebalance


def standby_follower(app: faust.App) -> Any:
    """What the consumer's loop calls with each message: True when it was a standby record, now applied."""
    tables: Any = app.tables
    recovery = tables.recovery
    standby_tps = recovery.standby_tps  # faust refills this one set at every rebalance
    offsets = recovery.standby_offsets
    loads_key, loads_value = app.serializers.loads_key, app.serializers.loads_value

    def follow(tp: TP, message: Any) -> bool:
        if tp not in standby_tps:
            return False
        seen = offsets.get(tp)
        if seen is None or message.offset > seen:
            table = recovery.tp_to_table[tp]
            store = table.data
            key = table._to_key(loads_key(table.key_type, message.key, serializer=table.key_serializer))
            if message.value is None:
                store.data.pop(key, None)
                store._key_partition.pop(key, None)
            else:
                store.data[key] = table._to_value(
                    loads_value(table.value_type, message.value, serializer=table.value_serializer))
                store._key_partition[key] = message.partition
            offsets[tp] = message.offset
        return True

    return follow
