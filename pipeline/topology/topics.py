"""The topic registry: every topic of the pipeline, once, with its key, partitions and retention.

Names are a contract (docs/architecture.md, "Topics"): printing stations and recording desks of other
vendors read and write them. Never rename one; add a new topic instead. Who writes and reads each topic is
the routing table's to say (`pipeline/topology/routes.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from events.approval import ApprovalDecided
from events.desk import DeskOutboxReported
from events.enrollment import EnrollmentRecorded, EnrollmentRejected, EnrollmentSubmission
from events.pickup import CardCollected, CardReadyForPickup, PickupRequested
from events.printing import CardPrinted, PrintRequested, StationInventory
from events.status import RequestStatus, StatusNoted

DAY_MS = 24 * 60 * 60 * 1000
FOREVER = -1

CleanupPolicy = Literal["delete", "compact"]


@dataclass(frozen=True)
class TopicSpec:
    """One topic: what its keys and values are, and how Kafka keeps it."""

    name: str
    key: str
    value: str
    cleanup_policy: CleanupPolicy = "delete"
    retention_ms: int = 90 * DAY_MS
    # None: the configured default (`Settings.topic_partitions`), so all citizen-keyed topics agree.
    partitions: int | None = None
    # The JSON model of every value (the contract other programs read and write).
    value_model: type[BaseModel] | None = None
    # Internal topics are the pipeline's own plumbing, not a contract: no other program may rely on them.
    internal: bool = False

    def partition_count(self, default: int) -> int:
        return self.partitions or default

    def configs(self) -> dict[str, str]:
        """Topic-level configs for Kafka."""
        configs = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if self.cleanup_policy == "compact":
            # A state topic: keep the latest value of every key for ever; compact soon after a change
            # so that a reader (dashboard, `ektp status`) that replays it from the start stays quick.
            configs["min.cleanable.dirty.ratio"] = "0.1"
            configs["segment.ms"] = str(DAY_MS)
        return configs


# Retention: a request may wait for central for weeks (the Tanjungpinang office was cut off for about a
# month), so the step topics keep 90 days, and the dead-letter and parked streams keep everything until a
# person or a replay has dealt with it.
ENROLLMENT_SUBMITTED = TopicSpec(
    "ektp.enrollment.submitted", "anything (the NIK as sent)", "raw submission JSON",
    value_model=EnrollmentSubmission,
)
ENROLLMENT_REJECTED = TopicSpec(
    "ektp.enrollment.rejected", "request_id, or the raw key", "the raw bytes kept unchanged + errors",
    value_model=EnrollmentRejected,
)
ENROLLMENT_RECORDED = TopicSpec(
    "ektp.enrollment.recorded", "citizen key", "validated enrollment", value_model=EnrollmentRecorded,
)
APPROVAL_DECIDED = TopicSpec(
    "ektp.approval.decided", "citizen key", "central's signed decision", value_model=ApprovalDecided,
)
APPROVAL_DEADLETTER = TopicSpec(
    "ektp.approval.deadletter", "citizen key", "the original record + failure context", retention_ms=FOREVER,
    value_model=EnrollmentRecorded,
)
APPROVAL_PARKED = TopicSpec(
    "ektp.approval.parked", "citizen key", "records that failed replay too often", retention_ms=FOREVER,
    value_model=EnrollmentRecorded,
)
PRINT_REQUESTED = TopicSpec(
    "ektp.print.requested", "office code", "print job carrying the signed approval", value_model=PrintRequested,
)
PRINT_COMPLETED = TopicSpec(
    "ektp.print.completed", "citizen key", "card printed: card serial, blank serial, station",
    value_model=CardPrinted,
)
STATION_INVENTORY = TopicSpec(
    "ektp.station.inventory", "station id", "blank-card stock of each station", cleanup_policy="compact",
    retention_ms=FOREVER, partitions=1, value_model=StationInventory,
)
# Each recording desk's last report of its outbox (what waits for the broker), for the operators.
DESK_OUTBOX = TopicSpec(
    "ektp.desk.outbox", "desk id", "what each recording desk's outbox holds", cleanup_policy="compact",
    retention_ms=FOREVER, partitions=1, value_model=DeskOutboxReported,
)
PICKUP_READY = TopicSpec(
    "ektp.pickup.ready", "citizen key", "card waiting at the office", value_model=CardReadyForPickup,
)
# The pickup desk's requests, keyed by citizen key so that they meet the citizen's other facts in one
# partition; the desk finds the key in the request's status (`ektp status`) or its ready announcement.
PICKUP_REQUESTED = TopicSpec(
    "ektp.pickup.requested.v2", "citizen key", "a citizen presents a fingerprint at the pickup desk",
    value_model=PickupRequested,
)
PICKUP_COLLECTED = TopicSpec(
    "ektp.pickup.collected", "citizen key", "card handed over (or refused, with reason)", value_model=CardCollected,
)
REQUEST_STATUS = TopicSpec(
    "ektp.request.status", "request_id", "current state of each request", cleanup_policy="compact",
    retention_ms=FOREVER, value_model=RequestStatus,
)
# What the citizen's step reads besides the outside programs' topics, keyed by citizen key: a validated
# submission (a desk may key by anything, so the intake re-keys it), the rejection of a submission whose NIK
# could be read, and a dead-letter record sent back for another try. The `ektp.inbox` header says which.
CITIZEN_INBOX = TopicSpec(
    "ektp.internal.citizen-inbox", "citizen key", "a validated submission, a rejection, or a replayed record",
    retention_ms=7 * DAY_MS, internal=True,
)
STATUS_NOTES = TopicSpec(
    "ektp.internal.status-notes", "citizen key", "a station's note of a state no contract topic carries",
    value_model=StatusNoted, internal=True,
)
# Every message an agent could not read, with its raw key, value and headers unchanged and the failure in
# its headers, kept for ever for an operator: a poison message never stops a step and never vanishes.
UNREADABLE = TopicSpec(
    "ektp.internal.unreadable", "the original key", "the original bytes + failure context", retention_ms=FOREVER,
    internal=True,
)

REGISTRY: tuple[TopicSpec, ...] = (
    ENROLLMENT_SUBMITTED,
    ENROLLMENT_REJECTED,
    ENROLLMENT_RECORDED,
    APPROVAL_DECIDED,
    APPROVAL_DEADLETTER,
    APPROVAL_PARKED,
    PRINT_REQUESTED,
    PRINT_COMPLETED,
    STATION_INVENTORY,
    DESK_OUTBOX,
    PICKUP_READY,
    PICKUP_REQUESTED,
    PICKUP_COLLECTED,
    REQUEST_STATUS,
    CITIZEN_INBOX,
    STATUS_NOTES,
    UNREADABLE,
)

BY_NAME: dict[str, TopicSpec] = {spec.name: spec for spec in REGISTRY}


@dataclass(frozen=True)
class Retired:
    """A topic no longer read or created: its name stays taken, and says what replaced it."""

    name: str
    replaced_by: str
    why: str


RETIRED: tuple[Retired, ...] = (
    Retired("ektp.pickup.requested", PICKUP_REQUESTED.name,
            "it was keyed by request_id; the pickup step keeps its state per citizen, so its input is keyed by "
            "citizen key like every other input of that step"),
)
CONTRACT_TOPICS: tuple[TopicSpec, ...] = tuple(spec for spec in REGISTRY if not spec.internal)
