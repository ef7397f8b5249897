"""Where faust-streaming needs help, in one place: each fix names what it mends and the test that shows it.

They touch faust's private attributes (`_actors`, `_thread`, the recovery's callbacks), so a faust upgrade
must run the tests each names. The standby copies of the table, which faust's in-memory store would drop, are
kept by `standby.py`.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping
from typing import Any, Protocol

import faust
from faust.transport.consumer import CONSUMER_FETCHING

from pipeline.logs import get_logger
from pipeline.worker.standby import standby_follower

log = get_logger(__name__)


def seek_before_fetching_on_start(app: faust.App) -> None:
    """A starting worker fetches its stream partitions only once they are where it must read them from.

    At the end of its table recovery faust seeks the stream partitions to the committed offsets and then
    clears its stream queues while its consumer still flows, so what was fetched in between is dropped yet
    counted as read, and that partition's commits stall (faust-streaming #596). Stopping the flow first,
    as faust does on a rebalance, leaves nothing to race (`tests/integration/pipeline/worker/
    test_restart_backlog.py`). Each seek also puts back the partitions the group never committed.
    """
    tables: Any = app.tables  # faust's TableManager; its interface TableManagerT does not show the recovery
    recovery = tables.recovery
    complete = recovery.on_recovery_completed

    async def on_recovery_completed(generation_id: int = 0) -> None:
        rewind_unread_on_every_seek(app)
        app.consumer.stop_flow()
        app.flow_control.suspend()
        await complete(generation_id)  # seeks, then resumes flow control and the consumer's flow

    recovery.on_recovery_completed = on_recovery_completed


def rewind_unread_on_every_seek(app: faust.App) -> None:
    """faust's seek to the committed offsets also seeks each stream partition with none to its beginning.

    aiokafka's `seek_to_committed` skips a partition the group never committed, which then goes on from
    wherever a fetch faust dropped had ended, and its first messages are never processed
    (`test_restart_backlog.py`). The beginning is where `consumer_auto_offset_reset` ("earliest") starts such
    a partition anyway. Changelog partitions are the recovery's, and left alone.
    """
    consumer: Any = app.consumer  # faust's aiokafka Consumer; its thread owns the aiokafka consumer
    if getattr(consumer, "_rewinds_unread", False):
        return
    assert app.conf.consumer_auto_offset_reset == "earliest", "an unread partition is read from its start"
    thread = consumer._thread
    tables: Any = app.tables

    async def seek_to_committed_or_beginning() -> Mapping[Any, int]:
        changelogs = tables.changelog_topics

        async def seek(kafka: Any) -> tuple[Mapping[Any, int], list[Any]]:  # in the consumer's thread
            committed = await kafka.seek_to_committed()
            unread = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
            if unread:
                await kafka.seek_to_beginning(*unread)
            return committed, unread

        committed: Mapping[Any, int]
        committed, unread = await thread.call_thread(seek, thread._ensure_consumer())
        if unread:
            log.info("partitions this group never committed start at their beginning",
                     partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in unread))
        return committed

    consumer.seek_to_committed = seek_to_committed_or_beginning
    consumer._rewinds_unread = True


def produce_idempotently(app: faust.App) -> None:
    """The app's producer asks the broker to keep each record once, however often a send is retried.

    faust asks aiokafka for idempotence only inside transactions, which the pipeline does not use. On a
    cluster, a send whose leader died is retried on the partition's next leader: without idempotence, one
    that had been written before the failure would be written twice (`tests/unit/pipeline/worker/test_app.py`).
    """
    producer: Any = app.producer  # faust's aiokafka Producer: `_settings_extra` is what it adds to aiokafka's options
    extra = producer._settings_extra
    producer._settings_extra = lambda: {**extra(), "acks": "all", "enable_idempotence": True}


def end_batches_when_stopping(agent: Any) -> None:
    """A batching agent (`take_events`) ends its loop when it stops, instead of waiting to be cancelled.

    `take_events` leaves its loop only when its stream stops, and faust stops an agent by cancelling its
    task once and then waiting for it; a cancellation lost inside `take_events` leaves the worker unable to
    stop (`tests/unit/pipeline/worker/test_stopping.py`). Stopping its streams first ends that loop within
    one `within`; the batch in hand is acked as usual.
    """
    on_stop = agent.on_stop

    async def on_stop_streams_first() -> None:
        for actor in list(agent._actors):
            await actor.stream.stop()
        await on_stop()

    agent.on_stop = on_stop_streams_first


class Revocable(Protocol):
    """State whose writes must be finished, or given up, before a rebalance takes its partitions away."""

    async def revoking(self) -> None: ...

    def assigned(self) -> None: ...


def finish_writes_before_revocation(app: faust.App, state: Revocable) -> None:
    """A rebalance waits for the table writes a step has begun, and lets no new ones begin until it is over.

    faust revokes partitions without waiting for the batch an agent is working on (`stream_wait_empty` is off:
    waiting for a half-taken batch hangs). A write that reached the changelog after the partition's next owner
    recovered it would be missing there, or would land over that owner's newer writes. faust flushes its
    producer once the revocation's own work is done, so the writes finished before it are in the changelog
    when the next owner reads it (`tests/integration/pipeline/worker/test_failover.py`).
    """
    revoke, assign = app._on_partitions_revoked, app._on_partitions_assigned

    async def on_partitions_revoked(revoked: Any) -> None:
        await state.revoking()
        await revoke(revoked)

    async def on_partitions_assigned(assigned: Any, generation_id: int = 0) -> None:
        state.assigned()
        await assign(assigned, generation_id)

    app._on_partitions_revoked = on_partitions_revoked  # type: ignore[method-assign]
    app._on_partitions_assigned = on_partitions_assigned  # type: ignore[method-assign]


def leave_uncommitted(events: Iterable[Any]) -> None:
    """faust never commits these events' offsets: the batch gave them up to the partitions' next owner.

    A batch overtaken by a rebalance is acked by `take_events` when its body ends like any other; should its
    partitions come back to this worker, faust could then commit offsets whose effects were never written.
    A message marked acked already is one faust's `Consumer.ack` records nothing for.
    """
    for event in events:
        event.message.acked = True


def deliver_at_once(app: faust.App) -> None:
    """The consumer hands each fetched message to the streams at once, without making tasks, when nothing blocks it.

    faust's `Consumer._drain_messages` delivers every message with `wait_first(callback(message),
    suspend_flow.wait())`, four tasks a message, so that a rebalance can abandon a delivery that waits: on
    flow control, on a full producer buffer, on a full stream buffer. Here the delivery runs at once up to its
    first wait. Almost always it has none and is done; one that waits goes on under faust's `wait_first`, which
    a rebalance abandons as before (`tests/unit/pipeline/worker/test_delivery.py`). The consumer is faust's own,
    made lazily, with this loop in place of its `_drain_messages`; the loop applies a standby partition's
    records to its table itself (`standby.standby_follower`).
    """
    new_consumer = app._new_consumer

    def new_consumer_delivering_at_once() -> Any:
        consumer: Any = new_consumer()  # faust's aiokafka Consumer
        consumer._drain_messages = types.MethodType(drain_messages, consumer)
        consumer.follow_standby = standby_follower(app)
        return consumer

    app._new_consumer = new_consumer_delivering_at_once  # type: ignore[method-assign]


async def drain_messages(self: Any, fetcher: Any) -> None:
    """faust-streaming 0.15's `Consumer._drain_messages`, handing each message to `deliver` instead of `wait_first`.

    It reads batches from the consumer's thread and delivers each message not read yet, in offset order,
    recording gaps for acking topics and committing every `commit_every` acks, and lets the loop run others
    every hundred messages. A record of a table partition this worker keeps a standby copy of goes straight to
    that copy instead of through faust's recovery.
    """
    getmany = self.getmany
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    take = _taker(self)
    since_yield = 0
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            self.diag.set_flag(CONSUMER_FETCHING)
            batch = getmany(timeout=1.0)
            await self.sleep(0)  # getmany may return at once, again and again: let the others run
            if not self.should_stop:
                async for tp, message in batch:
                    since_yield += 1
                    if since_yield > 100:
                        await asyncio.sleep(0)
                        since_yield = 0
                    await take(tp, message)
                self.diag.unset_flag(CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        self.diag.unset_flag(CONSUMER_FETCHING)


def _taker(self: Any) -> Callable[[Any, Any], Awaitable[None]]:
    """What `drain_messages` does with each message fetched: faust's, with `deliver` in place of `wait_first`."""
    callback = self.callback
    follow_standby = self.follow_standby  # set with this loop by `deliver_at_once`
    get_read_offset = self._read_offset.__getitem__
    set_read_offset = self._read_offset.__setitem__
    commit_every = self._commit_every
    acks_enabled_for = self.app.topics.acks_enabled_for

    async def take(tp: Any, message: Any) -> None:
        offset = message.offset
        read_offset = get_read_offset(tp)
        if read_offset is not None and offset < read_offset:
            return  # read already
        if follow_standby(tp, message):
            set_read_offset(tp, offset)
            return
        gap = offset - (read_offset or 0)
        if gap > 1 and read_offset and acks_enabled_for(message.topic):
            await self._add_gap(tp, read_offset + 1, offset)
        if commit_every is not None and self._n_acked >= commit_every:
            self._n_acked = 0
            await self.commit()
        await deliver(self, callback(message))
        set_read_offset(tp, offset)

    return take


async def deliver(consumer: Any, delivery: Coroutine[Any, Any, Any]) -> None:
    """Run `delivery` now; if it has to wait, finish it as faust does, abandoned should the flow be suspended."""
    try:
        waiting_for = delivery.send(None)
    except StopIteration:
        return
    await consumer.wait_first(_finish(delivery, waiting_for), consumer.suspend_flow.wait())


async def _finish(coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> Any:
    return await _GoOn(coroutine, waiting_for)


class _GoOn:
    """Awaiting it goes on with a coroutine already run up to its first wait, as awaiting it from the start would.

    What the coroutine yielded is passed up to the task, and whatever the task sends or throws back is passed
    down (`yield from`'s rules, PEP 380).
    """

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> None:
        self.coroutine = coroutine
        self.waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, yielded = self.coroutine, self.waiting_for
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as error:  # noqa: BLE001 - a cancellation or a failed future: the coroutine decides
                try:
                    yielded = coroutine.throw(error)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    yielded = coroutine.send(sent)
                except StopIteration as done:
                    return done.value
