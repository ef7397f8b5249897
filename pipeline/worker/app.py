"""The faust app: one factory, so the worker, the tests and the tools build it the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust

from pipeline.config import Settings
from pipeline.logs import get_logger

log = get_logger(__name__)

SESSION_TIMEOUT_SECONDS = 10.0
HEARTBEAT_INTERVAL_SECONDS = 2.0  # at most a third of the session timeout, as Kafka advises


def create_app(settings: Settings, *, app_id: str | None = None) -> faust.App:
    """A faust app on the configured broker.

    Offsets are committed only after a message is processed (faust's default); agents keep
    concurrency 1 (faust-streaming #606) and get throughput from batches and partitions.
    """
    faust_dir = settings.run_dir / "faust"
    faust_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id or settings.app_id,
        broker=settings.kafka_url,
        store="memory://",
        datadir=str(faust_dir / "{conf.id}"),  # not `<id>-data` in whatever folder it runs from
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        # A worker killed outright (SIGKILL, a crash, a pulled plug) keeps its partitions until the broker
        # times its session out, and a new worker's rebalance waits for that: with faust's default of 60 s,
        # a restarted worker processed nothing for a minute (ektp chaos). 10 s, like the printing station.
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=HEARTBEAT_INTERVAL_SECONDS,
        producer_acks=-1,
        # Every agent sends many small messages: a few ms of linger packs them into one produce request per
        # partition instead of one request each (`ektp bench`: the produce path was the worker's top cost).
        producer_linger=0.005,
        producer_max_batch_size=256 * 1024,
        # On a stop or a rebalance, faust waited for every message an agent had taken to be acked; a message
        # still in a batch (`take_events`) never was, and the worker hung there until SIGKILL (its stack,
        # from `dump_stacks_on_sigquit`: "wait_empty: Waiting for tasks"). Every step is idempotent by
        # request_id, so what was not acked is read again after the restart instead.
        stream_wait_empty=False,
        autodiscover=False,
    )
    seek_before_fetching_on_start(app)
    return app


def seek_before_fetching_on_start(app: faust.App) -> None:
    """A starting worker fetches its stream partitions only once they are where it must read them from.

    At the end of its table recovery faust resumes the stream partitions, seeks them to the committed
    offsets, then resumes flow, which clears the stream queues. Its consumer was still flowing from the
    recovery, so what it fetched in between was processed twice or dropped unprocessed yet counted as
    read; a dropped message was never acked and the partition's commits stalled behind it until the next
    restart (faust-streaming #596). `tests/integration/test_restart_backlog.py` lost 67, then 207, of 300
    waiting submissions so. Stopping the flow first, as faust does on a rebalance, leaves nothing to race.
    Each seek also puts back the partitions the group never committed (`rewind_unread_on_every_seek`).
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

    faust drops what it fetched when a rebalance or the end of a recovery stops its flow, and counts on
    that seek to fetch it again. aiokafka's seek skips a partition the group never committed (it seeks to
    offsets above 0 only), which then went on from where the dropped fetch ended: its first messages were
    not processed until the next restart. In `test_restart_backlog`, 1 run in 8 under load recorded about
    a third of the 300 (the one partition with a commit); the worker's consumer state on SIGQUIT showed the
    other two at the end of the topic with nothing read. The beginning is where `consumer_auto_offset_reset`
    ("earliest") starts such a partition anyway. Changelog partitions are the recovery's, and left alone.
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
