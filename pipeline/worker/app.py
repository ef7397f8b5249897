"""The faust app: one factory, so the worker, the tests and the tools build it the same way."""

from __future__ import annotations

import faust

from pipeline.config import Settings
from pipeline.kafka.partitioning import KeyPartitioner
from pipeline.kafka.security import SCRAM_MECHANISM, credential, ssl_context
from pipeline.topology.acls import WORKER_ROLE
from pipeline.worker.faust_fixes import deliver_at_once, produce_idempotently, seek_before_fetching_on_start

# A worker killed outright keeps its partitions until the broker times its session out: this bounds how long
# another worker waits to take them over. Heartbeats come from faust's consumer thread, not the agents' loop.
SESSION_TIMEOUT_SECONDS = 8.0
HEARTBEAT_INTERVAL_SECONDS = 2.0  # at most a third of the session timeout, as Kafka advises
# The group's leader assigns only the partitions its metadata shows; metadata fetched while the broker was still
# coming back lists the topics without partitions, and the group would own nothing of them until the next
# refresh. A refresh that finds them changes the leader's snapshot, and the group rebalances.
METADATA_MAX_AGE_MS = 10_000


def create_app(settings: Settings, *, app_id: str | None = None, role: str = WORKER_ROLE) -> faust.App:
    """A faust app on the configured broker, connecting as `role` (the worker's; the bench's relay is `admin`).

    Offsets are committed only after a message is processed (faust's default); agents keep
    concurrency 1 (faust-streaming #606) and get throughput from batches and partitions. Every write waits for
    the topic's in-sync replicas (acks=all) and is kept once (idempotence); the topics faust itself declares
    are replicated like the registry's.
    """
    faust_dir = settings.run_dir / "faust"
    faust_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id or settings.app_id,
        broker=settings.kafka_url,
        # Every client faust makes (consumer, producer, its topic creation) authenticates as `role`, whose ACLs
        # name the group `app_id` and the topics `<app_id>-...`: the worker's role is for the settings' app id.
        broker_credentials=faust_credentials(settings, role),
        store="memory://",
        datadir=str(faust_dir / "{conf.id}"),  # not `<id>-data` in whatever folder it runs from
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=HEARTBEAT_INTERVAL_SECONDS,
        producer_acks=-1,
        # Every agent sends many small messages: a few ms of linger packs them into one produce request per
        # partition instead of one request each.
        producer_linger=0.005,
        producer_max_batch_size=256 * 1024,
        producer_partitioner=KeyPartitioner(),  # the default partitioner, each key's murmur2 computed once
        # On a stop or a rebalance faust would wait for every message an agent has taken to be acked, and a
        # message still in a `take_events` batch never is. Every step is idempotent by request_id, so what
        # was not acked is read again after the restart instead.
        stream_wait_empty=False,
        table_standby_replicas=settings.worker_standby_replicas,
        consumer_metadata_max_age_ms=METADATA_MAX_AGE_MS,
        autodiscover=False,
    )
    seek_before_fetching_on_start(app)
    produce_idempotently(app)
    deliver_at_once(app)
    return app


def faust_credentials(settings: Settings, role: str) -> faust.SASLCredentials:
    """The credentials of `role` in faust's form (`broker_credentials`): the same SCRAM user and CA as every client."""
    user = credential(settings, role)
    return faust.SASLCredentials(
        username=user.username, password=user.password, mechanism=SCRAM_MECHANISM,
        ssl_context=ssl_context(settings) if settings.kafka_uses_tls else None,
    )
