"""The four steps on the real system: every kind of request ends where docs/architecture.md promises, one card each."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest

from events.approval import CentralDecision
from events.common import WIB
from events.enrollment import Finger
from events.pickup import PickupRequested
from events.printing import CardPrinted
from events.status import RequestState, RequestStatus
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.desk.pickup import request_pickup
from pipeline.processes.supervisor import Supervisor
from pipeline.proving.synthetic import Expected, GeneratedSubmission, Mix, generate_submissions
from pipeline.station.inventory import restock
from pipeline.topology.topics import PRINT_COMPLETED, REQUEST_STATUS
from tests.e2e.conftest import STATION
from tests.support.topics import Records, latest_statuses, read_until

pytestmark = pytest.mark.e2e

DECISION_STATES = {
    CentralDecision.PRINT_READY_RECORD: RequestState.READY_FOR_PICKUP,
    CentralDecision.DUPLICATE_RECORD: RequestState.DUPLICATE_RECORD,
    CentralDecision.ADJUDICATE_RECORD: RequestState.ADJUDICATE_RECORD,
    CentralDecision.ENROLL_FAILURE_AT_CENTRAL: RequestState.ENROLL_FAILURE_AT_CENTRAL,
}
SIXTEEN_DIGITS = re.compile(rb"(?<!\d)\d{16}(?!\d)")


async def statuses_when(settings: Settings, expected: dict[str, RequestState]) -> dict[str, RequestStatus]:
    def reached(records: Records) -> bool:
        now = latest_statuses(records)
        return all(request_id in now and now[request_id].state == state for request_id, state in expected.items())

    return latest_statuses(await read_until(settings, REQUEST_STATUS.name, reached, timeout=120))


async def present(settings: Settings, presses: list[tuple[str, Finger, str]]) -> None:
    """The pickup desk as `ektp pickup` runs it: the citizen key from the request's status, then the finger."""
    for request_id, finger, digest in presses:
        await request_pickup(settings, PickupRequested(request_id=request_id, finger=finger, fingerprint=digest,
                                                       desk_id="AMBIL-E2E", requested_at=dt.datetime.now(dt.UTC)))


def expected_end(submission: GeneratedSubmission) -> RequestState:
    if submission.expected == Expected.REJECTED:
        return RequestState.REJECTED
    assert submission.central_decision is not None
    return DECISION_STATES[submission.central_decision]


async def test_every_kind_of_request_ends_where_the_design_promises(system: Settings) -> None:
    """Print-ready, duplicate, adjudicate, enroll failure, rejected, repeated and a wrong finger, end to end."""
    await restock(system, STATION, 50)
    submissions = generate_submissions(
        14, seed=random.randrange(2**31), today=dt.datetime.now(WIB).date(),
        mix=Mix(invalid=2, malformed=1, repeated=1, duplicate_record=1, adjudicate=1, enroll_failure=1),
    )
    sources = [s for s in submissions if s.source_request_id is None]
    derived = [s for s in submissions if s.source_request_id is not None]
    first_ends = {s.request_id: expected_end(s) for s in sources if s.request_id}
    await send_submissions(system, sources)
    # Central calls a duplicate only once it knows the original: wait for the originals' ends first.
    await statuses_when(system, first_ends)
    await send_submissions(system, derived)
    ends = first_ends | {
        s.request_id: expected_end(s) for s in derived if s.request_id and s.expected != Expected.REPEAT
    }
    await statuses_when(system, ends)

    ready = [s for s in submissions if s.request_id and ends.get(s.request_id) == RequestState.READY_FOR_PICKUP]
    assert len(ready) >= 5
    wrong = ready[0]
    fingers = wrong.document()["biometrics"]["fingerprints"]
    await present(system, [(wrong.request_id or "", Finger.RIGHT_THUMB, fingers["right_index"])])
    refused = await statuses_when(system, {wrong.request_id or "": RequestState.READY_FOR_PICKUP})
    def refusal_noted(records: Records) -> bool:
        status = latest_statuses(records).get(wrong.request_id or "")
        return status is not None and any("FINGERPRINT_MISMATCH" in (e.note or "") for e in status.timeline)

    await read_until(system, REQUEST_STATUS.name, refusal_noted, timeout=60)
    assert refused[wrong.request_id or ""].state == RequestState.READY_FOR_PICKUP

    thumbs = [(s.request_id or "", s.document()["biometrics"]["fingerprints"]["right_thumb"]) for s in ready]
    await present(system, [(request_id, Finger.RIGHT_THUMB, digest) for request_id, digest in thumbs])
    final = await statuses_when(system, ends | {s.request_id or "": RequestState.COLLECTED for s in ready})
    assert {final[s.request_id or ""].state for s in ready} == {RequestState.COLLECTED}

    ready_ids = {s.request_id for s in ready}
    printed = await read_until(
        system, PRINT_COMPLETED.name,
        lambda rs: ready_ids <= {CardPrinted.model_validate_json(r.value).request_id for r in rs},
    )
    cards: dict[str, set[str]] = defaultdict(set)
    for record in printed:
        card = CardPrinted.model_validate_json(record.value)
        cards[card.request_id].add(card.card_serial)
    assert all(len(cards[request_id or ""]) == 1 for request_id in ready_ids), "one card serial per request"
    card_files = list(Path(system.run_dir).rglob("*.png"))
    # The station may also print other tests' requests (the topics are shared): count this test's cards.
    ours = {serial for request_id in ready_ids for serial in cards[request_id or ""]}
    assert len([path for path in card_files if path.stem in ours]) == len(ready_ids), "one card per request"
    assert all(not SIXTEEN_DIGITS.search(path.name.encode()) for path in card_files)

    supervisor = Supervisor(system)
    for name in ("central-sim", "worker", "station"):
        log = supervisor.log_path(name).read_bytes()
        niks = [s.document()["resident"]["nik"].encode() for s in ready]
        assert not [nik for nik in niks if nik in log], f"a full NIK in {name}'s log"
