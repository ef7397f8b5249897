"""Central's enrollment desk over its real sqlite store: the gallery, idempotency, restarts, privacy."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from central_sim.errors import RequestConflict
from central_sim.registry import Registry
from central_sim.server import load_signing_key
from central_sim.store import CentralStore
from central_sim.wire import EnrollmentRequest, parse_enrollment
from events.approval import CentralDecision
from tests.support.submissions import FINGERS, digest, valid_submission
from tests.unit.central_sim.conftest import ISSUER

NIK_A = "2172041708900001"
NIK_B = "2172014503010012"
NIK_C = "2172041708900003"


def request(document: dict[str, Any]) -> EnrollmentRequest:
    return parse_enrollment(document)


def sharing(nik: str, person: str, shared_with: str, fingers: int) -> dict[str, Any]:
    """A submission of `nik` whose first `fingers` finger digests are those of `shared_with`."""
    document = valid_submission(nik=nik, person=person)
    for finger in FINGERS[:fingers]:
        document["biometrics"]["fingerprints"][finger] = digest(f"{shared_with}-{finger}")
    return document


def decision_of(registry: Registry, document: dict[str, Any]) -> str:
    return registry.enroll(request(document)).decision.decision


def test_first_record_of_a_person_is_print_ready(registry: Registry) -> None:
    """A NIK whose fingers no one else holds is PRINT_READY_RECORD."""
    assert decision_of(registry, valid_submission(nik=NIK_A, person="budi")) == CentralDecision.PRINT_READY_RECORD


def test_same_person_under_another_nik_is_a_duplicate(registry: Registry) -> None:
    """Ten fingers already on file under another NIK: DUPLICATE_RECORD."""
    decision_of(registry, valid_submission(nik=NIK_A, person="budi"))
    assert decision_of(registry, valid_submission(nik=NIK_B, person="budi")) == CentralDecision.DUPLICATE_RECORD


@pytest.mark.parametrize(("fingers", "expected"), [(6, "DUPLICATE_RECORD"), (5, "ADJUDICATE_RECORD")])
def test_six_fingers_on_file_elsewhere_is_duplicate_five_is_adjudicate(
    registry: Registry, fingers: int, expected: str
) -> None:
    """Six fingers held by another NIK make a duplicate; five need adjudication."""
    decision_of(registry, valid_submission(nik=NIK_A, person="budi"))
    assert decision_of(registry, sharing(NIK_B, "siti", "budi", fingers)) == expected


def test_same_nik_enrolling_again_is_not_its_own_duplicate(registry: Registry) -> None:
    """A replacement card (same NIK, same fingers, new request) is PRINT_READY_RECORD again."""
    decision_of(registry, valid_submission(nik=NIK_A, person="budi"))
    replacement = valid_submission(nik=NIK_A, person="budi")
    replacement["request_type"] = "replacement_lost"
    assert decision_of(registry, replacement) == CentralDecision.PRINT_READY_RECORD


def test_a_duplicate_stays_on_file_and_catches_a_third_nik(registry: Registry) -> None:
    """The second NIK of a person is on file too: a third NIK sharing only its fingers is caught."""
    decision_of(registry, valid_submission(nik=NIK_A, person="budi"))
    decision_of(registry, sharing(NIK_B, "siti", "budi", 6))  # DUPLICATE; siti's 4 own fingers go on file
    third = sharing(NIK_C, "eko", "siti", 10)
    for finger in FINGERS[:6]:  # the six fingers siti shares with budi: keep only siti's own four
        third["biometrics"]["fingerprints"][finger] = digest(f"eko-{finger}")
    assert decision_of(registry, third) == CentralDecision.ADJUDICATE_RECORD


def test_an_unreadable_record_is_not_kept_so_the_rerecording_is(registry: Registry) -> None:
    """A record failing at central leaves no fingers on file: another NIK with those prints is print ready."""
    poor = valid_submission(nik=NIK_A, person="budi")
    poor["biometrics"]["quality"]["min_fingerprint"] = 39
    assert decision_of(registry, poor) == CentralDecision.ENROLL_FAILURE_AT_CENTRAL
    assert decision_of(registry, valid_submission(nik=NIK_B, person="budi")) == CentralDecision.PRINT_READY_RECORD


def test_repeated_request_gets_the_same_decision_and_token(registry: Registry) -> None:
    """The same request_id twice is one request: the same answer, and no duplicate of itself."""
    document = valid_submission(nik=NIK_A, person="budi")
    first = registry.enroll(request(document))
    again = registry.enroll(request(document))
    assert not first.replayed
    assert again.replayed
    assert again.decision == first.decision
    assert again.decision.decision == CentralDecision.PRINT_READY_RECORD


def test_unknown_extra_fields_do_not_make_a_repeat_a_conflict(registry: Registry) -> None:
    """Extra top-level fields other than citizen_key play no part in recognising a repeat."""
    document = valid_submission(nik=NIK_A, person="budi")
    first = registry.enroll(request(document))
    again = registry.enroll(request({**document, "attempt": 3}))
    assert again.decision.token == first.decision.token


def test_a_known_request_id_with_a_different_body_is_a_conflict(registry: Registry) -> None:
    """A different body under a decided request_id raises RequestConflict (a 409, permanent)."""
    document = valid_submission(nik=NIK_A, person="budi")
    registry.enroll(request(document))
    changed = {**document, "desk_id": "REKAM-02"}
    with pytest.raises(RequestConflict):
        registry.enroll(request(changed))
    with pytest.raises(RequestConflict):
        registry.enroll(request({**document, "citizen_key": "a" * 64}))


def test_restart_keeps_key_decisions_and_people(tmp_path: Path) -> None:
    """A reopened store has the same signing key, the same decisions and the same people on file."""
    folder = tmp_path / "central"
    first_store = CentralStore(folder)
    first_key = load_signing_key(first_store)
    budi = valid_submission(nik=NIK_A, person="budi")
    decided = Registry(first_store, first_key, ISSUER).enroll(request(budi)).decision
    first_store.close()

    store = CentralStore(folder)
    try:
        key = load_signing_key(store)
        registry = Registry(store, key, ISSUER)
        assert key.kid == first_key.kid
        assert registry.enroll(request(budi)).decision == decided
        assert decision_of(registry, valid_submission(nik=NIK_B, person="budi")) == CentralDecision.DUPLICATE_RECORD
        assert registry.people == 2
    finally:
        store.close()


def test_store_file_holds_no_nik(registry: Registry, store: CentralStore) -> None:
    """Central's store keeps people as keyed hashes: neither the NIK nor its plain SHA-256 is in the file."""
    registry.enroll(request(valid_submission(nik=NIK_A, person="budi")))
    store.close()
    content = b"".join(path.read_bytes() for path in store.path.parent.iterdir())
    assert NIK_A.encode() not in content
    assert hashlib.sha256(NIK_A.encode()).hexdigest().encode() not in content


def test_decision_log_masks_the_nik(registry: Registry) -> None:
    """The decision's log line names the request and a masked NIK, never the full NIK."""
    with capture_logs() as logs:
        registry.enroll(request(valid_submission(nik=NIK_A, person="budi")))
    [line] = [entry for entry in logs if entry["event"] == "enrollment decided"]
    assert line["nik_masked"] == "217204******0001"
    assert NIK_A not in repr(logs)


def test_a_person_filed_earlier_in_the_same_transaction_is_on_file(registry: Registry, store: CentralStore) -> None:
    """A batch is one transaction: its second NIK with the first one's fingers is already a duplicate."""
    with store.transaction():
        assert decision_of(registry, valid_submission(nik=NIK_A, person="budi")) == CentralDecision.PRINT_READY_RECORD
        assert decision_of(registry, valid_submission(nik=NIK_B, person="budi")) == CentralDecision.DUPLICATE_RECORD


def test_a_rolled_back_filing_leaves_no_fingers_on_file(registry: Registry, store: CentralStore) -> None:
    """A transaction that fails files no one: the same fingers under another NIK are a first record after it."""
    def file_then_fail() -> None:
        with store.transaction():
            registry.enroll(request(valid_submission(nik=NIK_A, person="budi")))
            raise RuntimeError("the batch fails after the filing")

    with pytest.raises(RuntimeError):
        file_then_fail()
    assert decision_of(registry, valid_submission(nik=NIK_B, person="budi")) == CentralDecision.PRINT_READY_RECORD


def test_a_store_written_with_the_digest_index_keeps_its_gallery(tmp_path: Path) -> None:
    """A store whose fingers are in the `finger_digests` table (no `people.digests`) still catches a duplicate
    after it is reopened, and files the next people in the new way."""
    folder = tmp_path / "central"
    first_store = CentralStore(folder)
    key = load_signing_key(first_store)
    Registry(first_store, key, ISSUER).enroll(request(valid_submission(nik=NIK_A, person="budi")))
    first_store.close()
    with sqlite3.connect(folder / "central.sqlite3") as legacy:  # as the store stood before `people.digests`
        for person_id, digests in legacy.execute("SELECT person_id, digests FROM people").fetchall():
            legacy.executemany("INSERT INTO finger_digests (digest, person_id) VALUES (?, ?)",
                               [(each, person_id) for each in digests.split(" ")])
        legacy.execute("ALTER TABLE people DROP COLUMN digests")
    legacy.close()

    store = CentralStore(folder)
    try:
        registry = Registry(store, key, ISSUER)
        assert decision_of(registry, valid_submission(nik=NIK_B, person="budi")) == CentralDecision.DUPLICATE_RECORD
        assert decision_of(registry, valid_submission(nik=NIK_C, person="siti")) == CentralDecision.PRINT_READY_RECORD
        filed = store._db.execute("SELECT COUNT(*) FROM people WHERE digests IS NOT NULL").fetchone()[0]
        assert filed == 2  # NIK_B (kept on file as a duplicate) and NIK_C, in the new way
    finally:
        store.close()
