"""The citizen's two steps, batch by batch, with their Kafka I/O recorded instead of sent.

What they send, and in which order against the table: every message of a batch is sent and flushed before
any citizen's entry is written, so a worker killed in between has its messages out and reads the events
again to an entry that does not know them yet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest

from events.approval import CentralDecision
from events.enrollment import EnrollmentRecorded, SubmissionValidated
from events.pickup import PickupRequested
from events.printing import CardPrinted, PrintRequested
from events.status import RequestState, RequestStatus
from pipeline.central.client import CentralResponse
from pipeline.config import Settings
from pipeline.kafka.security import ensure_credentials
from pipeline.topology.inbox import InboxKind, inbox_headers
from pipeline.topology.routes import FOLLOW_CARDS, RECORD_AND_APPROVE
from pipeline.topology.topics import CITIZEN_INBOX, PICKUP_REQUESTED, PRINT_COMPLETED
from pipeline.worker.agents.cards import FollowCards
from pipeline.worker.agents.enrollment import RecordAndApprove
from pipeline.worker.app import create_app
from pipeline.worker.faust_fixes import leave_uncommitted
from pipeline.worker.wiring import StepTopics, Wiring
from processors.citizen import Citizen
from processors.intake import RawMessage, validate_submission
from tests.support.submissions import valid_submission

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
SECRET = b"test-secret"


@dataclass
class Journal:
    """What the steps did, in order: `send <topic>`, `flush`, `put <citizen key>`."""

    lines: list[str] = field(default_factory=list)
    sent: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(value) for name, _key, value in self.sent if name == topic]

    def flushed_before_every_write(self) -> bool:
        """True when every entry written was written after a flush that followed every send before it."""
        last_send = last_flush = -1
        for number, line in enumerate(self.lines):
            if line.startswith("send"):
                last_send = number
            elif line == "flush":
                last_flush = number
            elif line.startswith("put") and last_flush < last_send:
                return False
        return True


class FakeCentral:
    """Central answering PRINT_READY_RECORD to every record, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def enroll_batch(self, enrollments: list[dict[str, Any]]) -> list[CentralResponse]:
        self.calls += 1
        return [CentralResponse(request_id=body["request_id"], decision=CentralDecision.PRINT_READY_RECORD,
                                reason="ok", decided_at=NOW, token="a.b.c") for body in enrollments]

    async def close(self) -> None:
        return None


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def wiring(tmp_path: Path, journal: Journal, monkeypatch: pytest.MonkeyPatch) -> Wiring:
    ensure_credentials(Settings(run_dir=tmp_path))  # the app is built with the worker's, never connects
    app = create_app(Settings(run_dir=tmp_path), app_id="ektp-steps-test")
    built = Wiring(app, Settings(run_dir=tmp_path))
    built.central = FakeCentral()  # type: ignore[assignment]
    entries: dict[str, dict[str, Any]] = {}

    async def put(key: str, citizen: Any, _event: Any) -> None:
        journal.lines.append(f"put {key[:6]}")
        entries[key] = citizen.to_json()

    monkeypatch.setattr(built.citizens, "put", put)
    monkeypatch.setattr(built.citizens, "get_json", entries.get)
    monkeypatch.setattr(type(built.citizens), "get", lambda self, key: Citizen.from_json(entries.get(key)))

    async def flush() -> None:
        journal.lines.append("flush")

    producer = SimpleNamespace(flush=flush)
    monkeypatch.setattr(type(app), "producer", property(lambda self: producer))
    return built


def recording_topics(app: faust.App, step: Any, journal: Journal, monkeypatch: pytest.MonkeyPatch) -> StepTopics:
    """The step's topics, whose sends land in `journal`."""
    topics = StepTopics(app, step)
    real_output = topics.output

    def output(spec: Any) -> Any:
        topic = real_output(spec)

        async def send(*, key: bytes | None = None, value: bytes, headers: Any = None) -> None:
            journal.lines.append(f"send {spec.name}")
            journal.sent.append((spec.name, key, value))

        monkeypatch.setattr(topic, "send", send)
        return topic

    monkeypatch.setattr(topics, "output", output)
    return topics


def event(topic: str, key: str, value: bytes, offset: int, headers: list[tuple[str, bytes]] | None = None) -> Any:
    """A faust event as the agents read it: key, value, and the message's position and headers."""
    message = SimpleNamespace(topic=topic, partition=0, offset=offset, headers=headers or [])
    return SimpleNamespace(key=key.encode(), value=value, message=message)


def submission_event(request_id: str, offset: int) -> tuple[Any, str, dict[str, Any]]:
    document = valid_submission(request_id=request_id)
    raw = RawMessage(b"2172041708900001", json.dumps(document).encode(), "ektp.enrollment.submitted", 0, offset)
    validated = validate_submission(raw, secret=SECRET, now=NOW, max_bytes=65536)
    assert isinstance(validated, SubmissionValidated), validated
    value = validated.model_dump_json().encode()
    key = validated.citizen_key
    return event(CITIZEN_INBOX.name, key, value, offset, inbox_headers(InboxKind.SUBMISSION)), key, document


async def test_a_submission_is_recorded_decided_and_queued_and_everything_is_sent_before_the_entry(
    wiring: Wiring, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch: recorded, decided, print job and one status go out, are flushed, then the entry is written."""
    step = RecordAndApprove(wiring, recording_topics(wiring.app, RECORD_AND_APPROVE, journal, monkeypatch),
                            wiring.citizens)
    inbox_event, key, _document = submission_event("req-1", offset=7)
    await step.handle([inbox_event])

    assert journal.flushed_before_every_write()
    assert f"put {key[:6]}" in journal.lines
    assert [EnrollmentRecorded.model_validate(v).request_id for v in journal.values("ektp.enrollment.recorded")] \
        == ["req-1"]
    assert [PrintRequested.model_validate(v).request_id for v in journal.values("ektp.print.requested")] == ["req-1"]
    [status] = [RequestStatus.model_validate(v) for v in journal.values("ektp.request.status")]
    assert status.state == RequestState.PRINT_QUEUED, "one status a batch: the last state, with every step in it"
    assert [entry.state for entry in status.timeline] == [
        RequestState.RECORDED, RequestState.SENT_FOR_ENROLLMENT, RequestState.PRINT_READY_RECORD,
        RequestState.PRINT_QUEUED]
    assert status.citizen_key == key


async def test_the_same_message_read_again_is_a_repeat(
    wiring: Wiring, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message whose entry was written, read again after a crash, sends nothing and asks central nothing."""
    step = RecordAndApprove(wiring, recording_topics(wiring.app, RECORD_AND_APPROVE, journal, monkeypatch),
                            wiring.citizens)
    inbox_event, _key, _document = submission_event("req-1", offset=7)
    await step.handle([inbox_event])
    sent_before, calls_before = len(journal.sent), wiring.central.calls  # type: ignore[attr-defined]
    await step.handle([inbox_event])
    assert len(journal.sent) == sent_before
    assert wiring.central.calls == calls_before  # type: ignore[attr-defined]


async def test_a_printed_card_is_announced_and_handed_over_to_the_enrolled_thumb_only(
    wiring: Wiring, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cards: printed and approved is READY_FOR_PICKUP; a wrong finger is refused, the right one collects."""
    approve = RecordAndApprove(wiring, recording_topics(wiring.app, RECORD_AND_APPROVE, journal, monkeypatch),
                               wiring.citizens)
    cards = FollowCards(wiring, recording_topics(wiring.app, FOLLOW_CARDS, journal, monkeypatch), wiring.citizens)
    inbox_event, key, document = submission_event("req-1", offset=7)
    await approve.handle([inbox_event])
    printed = CardPrinted(request_id="req-1", citizen_key=key, job_id="req-1", card_serial="S1", blank_serial="B1",
                          station_id="TPI-01", printed_at=NOW, producer="test")
    await cards.handle([event(PRINT_COMPLETED.name, key, printed.model_dump_json().encode(), 1)])
    fingers = document["biometrics"]["fingerprints"]

    def press(finger_digest: str, offset: int) -> Any:
        request = PickupRequested(request_id="req-1", finger="right_thumb", fingerprint=finger_digest,
                                  desk_id="AMBIL-01", requested_at=NOW)
        return event(PICKUP_REQUESTED.name, key, request.model_dump_json().encode(), offset)

    await cards.handle([press(fingers["left_thumb"], 2)])
    await cards.handle([press(fingers["right_thumb"], 3)])
    outcomes = [(v["outcome"], v.get("reason_code")) for v in journal.values("ektp.pickup.collected")]
    assert outcomes == [("refused", "FINGERPRINT_MISMATCH"), ("collected", None)]
    assert len(journal.values("ektp.pickup.ready")) == 1
    states = [RequestStatus.model_validate(v).state for v in journal.values("ektp.request.status")]
    assert states[-2:] == [RequestState.READY_FOR_PICKUP, RequestState.COLLECTED]
    assert journal.flushed_before_every_write()


def test_locks_are_taken_in_one_order_and_forgotten_when_free(wiring: Wiring) -> None:
    """Two steps holding citizens' locks never wait on each other, and no lock outlives its users."""

    async def both() -> None:
        async with wiring.citizens.held(["b", "a"]), wiring.citizens.held([]):
            assert set(wiring.citizens._locks) == {"a", "b"}
        assert wiring.citizens._locks == {}

    asyncio.run(both())


def test_a_revocation_waits_for_writes_begun_and_a_batch_begun_before_it_writes_nothing(wiring: Wiring) -> None:
    """Writes under way finish before the revocation goes on; an older batch is refused; after assignment, writes."""

    async def rebalance() -> list[str]:
        citizens, said = wiring.citizens, []
        old = citizens.generation
        async with citizens.writing(old) as allowed:
            assert allowed
            revocation = asyncio.create_task(citizens.revoking())
            await asyncio.sleep(0)  # the revocation runs up to its wait
            said.append("revocation waits" if not revocation.done() else "revocation did not wait")
        await revocation
        async with citizens.writing(old) as allowed:
            said.append(f"older batch writes: {allowed}")
        citizens.assigned()
        async with citizens.writing(citizens.generation) as allowed:
            said.append(f"new batch writes: {allowed}")
        return said

    assert asyncio.run(rebalance()) == ["revocation waits", "older batch writes: False", "new batch writes: True"]


def test_a_batch_holding_a_message_fetched_before_the_last_rebalance_writes_nothing(wiring: Wiring) -> None:
    """A batch can outlast a whole rebalance while it waits to fill: its messages name the generation they came in."""

    def fetched_in(generation: int) -> Any:
        return SimpleNamespace(message=SimpleNamespace(generation_id=generation))

    async def batches() -> list[bool]:
        citizens, said = wiring.citizens, []
        wiring.app.consumer_generation_id = 7  # the group's generation since the last rebalance
        for events in ([fetched_in(7), fetched_in(7)], [fetched_in(7), fetched_in(6)]):
            async with citizens.writing(citizens.generation, events) as allowed:
                said.append(allowed)
        return said

    assert asyncio.run(batches()) == [True, False]


def test_a_batch_given_up_to_the_next_owner_is_never_committed() -> None:
    """Its messages count as acked already, so faust's own ack records no offset of theirs."""
    given_up = [SimpleNamespace(message=SimpleNamespace(acked=False)) for _ in range(3)]
    leave_uncommitted(given_up)
    assert all(event.message.acked for event in given_up)
