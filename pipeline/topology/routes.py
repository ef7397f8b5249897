"""The routing table: every step of the worker and every program beside it, with what each reads and writes.

One declaration per step: the topics it reads, the processors that decide, the topics it writes, the tables
it owns. `pipeline/worker/build.py` wires the agents from it, and an agent can send only to a topic its step
declares. The topic registry's writers and readers, `ektp topics list`, the AsyncAPI document, the README's
flow diagram and `docs/architecture.md` are generated from it; a test fails when a copy disagrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.topology.topics import (
    APPROVAL_DEADLETTER,
    APPROVAL_DECIDED,
    APPROVAL_PARKED,
    ENROLLMENT_RECORDED,
    ENROLLMENT_REJECTED,
    ENROLLMENT_SUBMITTED,
    INTAKE_BY_CITIZEN,
    PICKUP_BY_REQUEST,
    PICKUP_COLLECTED,
    PICKUP_READY,
    PICKUP_REQUESTED,
    PRINT_COMPLETED,
    PRINT_REQUESTED,
    REGISTRY,
    REQUEST_STATUS,
    STATION_INVENTORY,
    STATUS_NOTES,
    UNREADABLE,
    TopicSpec,
)
from processors import approval, dead_letter, intake, pickup, print_dispatch, status

Side = Literal["pipeline", "outside"]


@dataclass(frozen=True)
class Step:
    """One agent (or task) of the worker: what it reads, which processors decide, what it writes."""

    name: str  # the faust agent's name, a verb phrase
    label: str  # what people call the step
    reads: tuple[TopicSpec, ...]
    decides: tuple[Callable[..., object], ...]
    writes: tuple[TopicSpec, ...]
    owns: tuple[str, ...] = ()  # the tables it keeps, named `<key>_to_<value>`
    consults: tuple[str, ...] = ()  # tables of other steps it reads
    calls: str | None = None  # how it talks to central, beside Kafka
    kind: Literal["agent", "task"] = "agent"

    @property
    def side(self) -> Side:
        return "pipeline"

    @property
    def node(self) -> str:
        return self.name


@dataclass(frozen=True)
class Party:
    """A program beside the worker that reads or writes the pipeline's topics.

    `outside` programs may be other vendors' (desks, stations); the project ships a stand-in for each.
    `role` is the Kafka principal the program authenticates as.
    """

    name: str
    label: str
    role: str
    side: Side
    programs: str  # what runs as this party here
    reads: tuple[TopicSpec, ...] = ()
    writes: tuple[TopicSpec, ...] = ()

    @property
    def node(self) -> str:
        return self.name.replace(" ", "_")


# -- the worker's steps, in the order a request meets them ---------------------------------------------------

TAKE_IN = Step(
    "take_in_submissions", "intake", reads=(ENROLLMENT_SUBMITTED,), decides=(intake.validate_submission,),
    writes=(INTAKE_BY_CITIZEN, ENROLLMENT_REJECTED),
)
RECORD = Step(
    "record_enrollments", "recording", reads=(INTAKE_BY_CITIZEN,), decides=(intake.decide_recording,),
    writes=(ENROLLMENT_RECORDED, ENROLLMENT_REJECTED, UNREADABLE), owns=("citizen_key_to_requests",),
    consults=("request_id_to_status",),
)
APPROVE = Step(
    "approve_enrollments", "approval", reads=(ENROLLMENT_RECORDED,),
    decides=(approval.approval_rounds, dead_letter.route_for, approval.decided, approval.refused_by_central,
             approval.settle),
    writes=(APPROVAL_DECIDED, STATUS_NOTES, APPROVAL_DEADLETTER, APPROVAL_PARKED, UNREADABLE),
    owns=("citizen_key_to_approvals",), calls="HTTPS, signed JWS",
)
DISPATCH = Step(
    "dispatch_print_jobs", "print dispatch", reads=(APPROVAL_DECIDED,), decides=(print_dispatch.print_job_for,),
    writes=(PRINT_REQUESTED, UNREADABLE),
)
ROUTE_TO_PICKUP = Step(
    "route_to_pickup", "pickup routing", reads=(APPROVAL_DECIDED, PRINT_COMPLETED),
    decides=(pickup.expected_pickup, pickup.card_arrived), writes=(PICKUP_BY_REQUEST, UNREADABLE),
)
HAND_OVER = Step(
    "hand_over_cards", "pickup", reads=(PICKUP_BY_REQUEST, PICKUP_REQUESTED),
    decides=(pickup.remember, pickup.ready_announcement, pickup.hand_over),
    writes=(PICKUP_READY, PICKUP_COLLECTED, UNREADABLE), owns=("request_id_to_pickup",),
)
TRACK_STATUS = Step(
    "track_request_status", "status tracker",
    reads=(ENROLLMENT_RECORDED, ENROLLMENT_REJECTED, APPROVAL_DECIDED, APPROVAL_DEADLETTER, APPROVAL_PARKED,
           PRINT_REQUESTED, PRINT_COMPLETED, PICKUP_READY, PICKUP_COLLECTED, STATUS_NOTES),
    decides=(status.advance_status,), writes=(REQUEST_STATUS, UNREADABLE), owns=("request_id_to_status",),
)
REPLAY = Step(
    "replay_dead_letters", "dead-letter replay", reads=(APPROVAL_DEADLETTER, APPROVAL_PARKED, REQUEST_STATUS),
    decides=(dead_letter.due_for_replay,), writes=(ENROLLMENT_RECORDED,), calls="GET /health",
    kind="task",
)

STEPS: tuple[Step, ...] = (TAKE_IN, RECORD, APPROVE, DISPATCH, ROUTE_TO_PICKUP, HAND_OVER, TRACK_STATUS, REPLAY)

# -- the programs beside the worker ------------------------------------------------------------------------

RECORDING_DESKS = Party(
    "recording desks", "recording desks", role="desk", side="outside", programs="`ektp enroll`, any vendor's desk",
    writes=(ENROLLMENT_SUBMITTED,),
)
PRINTING_STATIONS = Party(
    "printing stations", "printing stations", role="station", side="outside",
    programs="`ektp station run`, `ektp station restock`, any vendor's station",
    reads=(PRINT_REQUESTED, STATION_INVENTORY), writes=(PRINT_COMPLETED, STATION_INVENTORY, STATUS_NOTES),
)
PICKUP_DESK = Party(
    "pickup desk", "pickup desk", role="pickup-desk", side="outside", programs="`ektp pickup`",
    writes=(PICKUP_REQUESTED,),
)
OPERATORS = Party(
    "operators", "operators", role="operator", side="pipeline",
    programs="the dashboard, `ektp status`, `ektp dlq`",
    reads=(ENROLLMENT_REJECTED, APPROVAL_DEADLETTER, APPROVAL_PARKED, STATION_INVENTORY, PICKUP_READY,
           REQUEST_STATUS, UNREADABLE),
    writes=(ENROLLMENT_RECORDED,),
)

PARTIES: tuple[Party, ...] = (RECORDING_DESKS, PRINTING_STATIONS, PICKUP_DESK, OPERATORS)

Reader = Step | Party
EVERYONE: tuple[Reader, ...] = (*STEPS, *PARTIES)
BY_STEP_NAME: dict[str, Step] = {step.name: step for step in STEPS}


def writers_of(spec: TopicSpec) -> tuple[Reader, ...]:
    """Every step and party that writes `spec`, in table order."""
    return tuple(who for who in EVERYONE if spec in who.writes)


def readers_of(spec: TopicSpec) -> tuple[Reader, ...]:
    """Every step and party that reads `spec`, in table order."""
    return tuple(who for who in EVERYONE if spec in who.reads)


def labels(parties: tuple[Reader, ...]) -> str:
    """`intake, operators`: the people's names of some steps and parties."""
    return ", ".join(dict.fromkeys(who.label for who in parties))


def unrouted_topics() -> list[str]:
    """Topics of the registry that nobody writes or nobody reads: a routing table with a hole."""
    return [spec.name for spec in REGISTRY if not writers_of(spec) or not readers_of(spec)]


def processor_name(function: Callable[..., object]) -> str:
    """`processors.intake.validate_submission`."""
    return f"{function.__module__}.{function.__qualname__}"
