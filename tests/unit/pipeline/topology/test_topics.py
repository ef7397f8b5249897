"""The topic registry holds exactly the contract's topics, with the cleanup each one needs."""

from __future__ import annotations

from pipeline.topology.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_PARKED,
    BY_NAME,
    CONTRACT_TOPICS,
    DESK_OUTBOX,
    FOREVER,
    REGISTRY,
    REQUEST_STATUS,
    RETIRED,
    STATION_INVENTORY,
)

# docs/architecture.md, "Topics": other programs depend on these names.
CONTRACT_NAMES = {
    "ektp.enrollment.submitted", "ektp.enrollment.rejected", "ektp.enrollment.recorded",
    "ektp.approval.decided", "ektp.approval.deadletter", "ektp.approval.parked",
    "ektp.print.requested", "ektp.print.completed", "ektp.station.inventory",
    "ektp.pickup.ready", "ektp.pickup.requested.v2", "ektp.pickup.collected", "ektp.request.status",
    "ektp.desk.outbox",
}
# Retired: their names stay taken, and the registry neither creates nor reads them.
RETIRED_NAMES = {"ektp.pickup.requested"}


def test_the_registry_holds_exactly_the_contract_topics() -> None:
    """Every topic of the design is declared once; any other topic is marked internal."""
    assert [spec.name for spec in REGISTRY] == list(BY_NAME)
    assert {spec.name for spec in CONTRACT_TOPICS} == CONTRACT_NAMES
    assert all(spec.name.startswith("ektp.internal.") for spec in REGISTRY if spec.internal)
    assert {retired.name for retired in RETIRED} == RETIRED_NAMES
    assert not RETIRED_NAMES & set(BY_NAME)
    assert all(retired.replaced_by in BY_NAME for retired in RETIRED)


def test_every_contract_topic_has_a_value_model() -> None:
    """Other vendors get a JSON model for every topic they may read or write."""
    assert all(spec.value_model is not None for spec in CONTRACT_TOPICS)


def test_state_topics_are_compacted_and_event_topics_are_not() -> None:
    """Status, inventory and desks' outboxes keep the latest value per key; the event streams keep history."""
    compacted = {spec.name for spec in REGISTRY if spec.cleanup_policy == "compact"}
    assert compacted == {REQUEST_STATUS.name, STATION_INVENTORY.name, DESK_OUTBOX.name}
    assert REQUEST_STATUS.configs()["cleanup.policy"] == "compact"


def test_waiting_requests_are_never_deleted_by_retention() -> None:
    """The dead-letter and parked streams keep every record until it is dealt with, however long."""
    assert APPROVAL_DEADLETTER.retention_ms == FOREVER
    assert APPROVAL_PARKED.retention_ms == FOREVER
    assert APPROVAL_DEADLETTER.configs()["retention.ms"] == "-1"


def test_citizen_keyed_topics_spread_over_the_configured_partitions() -> None:
    """Topics without their own count take the configured default, so a citizen's events co-partition."""
    counts = {spec.name: spec.partition_count(6) for spec in REGISTRY}
    assert counts["ektp.enrollment.recorded"] == counts["ektp.approval.decided"] == 6
    assert counts[STATION_INVENTORY.name] == 1
