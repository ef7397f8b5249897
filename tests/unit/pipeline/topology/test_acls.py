"""The ACLs derived from the routing table: least privilege by construction, and nothing left open."""

from __future__ import annotations

from pipeline.topology.acls import acls, may, roles
from pipeline.topology.topics import (
    APPROVAL_DECIDED,
    DESK_OUTBOX,
    ENROLLMENT_RECORDED,
    ENROLLMENT_SUBMITTED,
    PICKUP_COLLECTED,
    PICKUP_REQUESTED,
    PRINT_COMPLETED,
    PRINT_REQUESTED,
    REGISTRY,
    STATION_INVENTORY,
)

APP_ID = "ektp-pipeline"
ENTRIES = acls(APP_ID)
# Topics whose values carry a NIK, a name, an address, a KK number or biometric digests.
PERSONAL = {ENROLLMENT_SUBMITTED.name, ENROLLMENT_RECORDED.name, "ektp.approval.deadletter", "ektp.approval.parked",
            "ektp.internal.citizen-inbox", PRINT_REQUESTED.name, "ektp.enrollment.rejected",
            "ektp.internal.unreadable"}


def test_every_role_of_the_routing_table_has_a_principal() -> None:
    assert roles() == ("worker", "desk", "station", "pickup-desk", "operator")
    assert {entry.role for entry in ENTRIES} == set(roles())


def test_a_desk_writes_submissions_and_its_outbox_and_reads_nothing() -> None:
    assert may(ENTRIES, "desk", "WRITE", ENROLLMENT_SUBMITTED.name)
    assert may(ENTRIES, "desk", "WRITE", DESK_OUTBOX.name)
    assert not any(may(ENTRIES, "desk", "READ", spec.name) for spec in REGISTRY)
    assert not any(may(ENTRIES, "desk", "READ", name) for name in PERSONAL)


def test_a_station_reads_its_jobs_and_writes_its_cards_and_stock_and_nothing_else() -> None:
    assert may(ENTRIES, "station", "READ", PRINT_REQUESTED.name)
    assert may(ENTRIES, "station", "WRITE", PRINT_COMPLETED.name)
    assert may(ENTRIES, "station", "WRITE", STATION_INVENTORY.name)
    assert not may(ENTRIES, "station", "READ", ENROLLMENT_SUBMITTED.name)
    assert not may(ENTRIES, "station", "WRITE", APPROVAL_DECIDED.name)
    assert not may(ENTRIES, "station", "WRITE", PICKUP_COLLECTED.name)


def test_only_the_pickup_desk_presents_fingers_and_only_the_worker_hands_cards_over() -> None:
    assert [role for role in roles() if may(ENTRIES, role, "WRITE", PICKUP_REQUESTED.name)] == ["pickup-desk"]
    assert [role for role in roles() if may(ENTRIES, role, "WRITE", PICKUP_COLLECTED.name)] == ["worker"]
    assert [role for role in roles() if may(ENTRIES, role, "WRITE", APPROVAL_DECIDED.name)] == ["worker"]


def test_every_topic_of_the_registry_has_a_writer_and_no_role_may_do_everything() -> None:
    for spec in REGISTRY:
        assert any(may(ENTRIES, role, "WRITE", spec.name) for role in roles()), spec.name
    assert not any(entry.pattern == "PREFIXED" and entry.name in {"", "ektp."} for entry in ENTRIES)


def test_the_worker_owns_its_group_and_its_own_topics_only() -> None:
    assert may(ENTRIES, "worker", "WRITE", f"{APP_ID}-citizen_key_to_citizen-changelog")
    assert not may(ENTRIES, "station", "READ", f"{APP_ID}-citizen_key_to_citizen-changelog")
    groups = {(entry.role, entry.name, entry.operation) for entry in ENTRIES if entry.resource_type == "GROUP"}
    assert ("worker", APP_ID, "READ") in groups
    assert not any(role == "desk" for role, _name, _operation in groups)
