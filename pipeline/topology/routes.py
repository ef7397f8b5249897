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
    CITIZEN_INBOX,
    DESK_OUTBOX,
    ENROLLMENT_RECORDED,
    ENROLLMENT_REJECTED,
    ENROLLMENT_SUBMITTED,
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
from processors import approval, citizen, dead_letter, intake, print_dispatch

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
# Every stateful step reads only topics keyed by citizen key, with one partition count, and keeps its state in
# the one table keyed so too: any number of workers is correct by construction (docs/architecture.md, "Scale").

CITIZEN_TABLE = "citizen_key_to_citizen"

TAKE_IN = Step(
    "take_in_submissions", "intake", reads=(ENROLLMENT_SUBMITTED,), decides=(intake.validate_submission,),
    writes=(CITIZEN_INBOX, ENROLLMENT_REJECTED),
)
RECORD_AND_APPROVE = Step(
    "record_and_approve", "recording and approval", reads=(CITIZEN_INBOX,),
    decides=(intake.decide_recording, approval.approval_rounds, dead_letter.route_for, approval.decided,
             approval.refused_by_central, approval.settle, print_dispatch.print_job_for, citizen.fold,
             citizen.learn_of_card),
    writes=(ENROLLMENT_RECORDED, ENROLLMENT_REJECTED, APPROVAL_DECIDED, APPROVAL_DEADLETTER, APPROVAL_PARKED,
            PRINT_REQUESTED, PICKUP_READY, REQUEST_STATUS, UNREADABLE),
    owns=(CITIZEN_TABLE,), calls="HTTPS, signed JWS",
)
FOLLOW_CARDS = Step(
    "follow_cards", "cards and pickup", reads=(PRINT_COMPLETED, PICKUP_REQUESTED, STATUS_NOTES),
    decides=(citizen.learn_of_card, citizen.present_finger, citizen.fold),
    writes=(PICKUP_READY, PICKUP_COLLECTED, REQUEST_STATUS, UNREADABLE), owns=(CITIZEN_TABLE,),
)
REPLAY = Step(
    "replay_dead_letters", "dead-letter replay", reads=(APPROVAL_DEADLETTER, APPROVAL_PARKED),
    decides=(dead_letter.due_for_replay,), writes=(CITIZEN_INBOX,), consults=(CITIZEN_TABLE,),
    calls="GET /health", kind="task",
)

STEPS: tuple[Step, ...] = (TAKE_IN, RECORD_AND_APPROVE, FOLLOW_CARDS, REPLAY)

# -- the programs beside the worker ------------------------------------------------------------------------

RECORDING_DESKS = Party(
    "recording desks", "recording desks", role="desk", side="outside",
    programs="`ektp desk run`, `ektp enroll`, any vendor's desk", writes=(ENROLLMENT_SUBMITTED, DESK_OUTBOX),
)
PRINTING_STATIONS = Party(
    "printing stations", "printing stations", role="station", side="outside",
    programs="`ektp station run`, `ektp station restock`, any vendor's station",
    reads=(PRINT_REQUESTED, STATION_INVENTORY), writes=(PRINT_COMPLETED, STATION_INVENTORY, STATUS_NOTES),
)
PICKUP_DESK = Party(
    "pickup desk", "pickup desk", role="pickup-desk", side="outside", programs="`ektp pickup`",
    reads=(PICKUP_READY, REQUEST_STATUS), writes=(PICKUP_REQUESTED,),
)
OPERATORS = Party(
    "operators", "operators", role="operator", side="pipeline",
    programs="the dashboard, `ektp status`, `ektp dlq`",
    reads=(ENROLLMENT_REJECTED, ENROLLMENT_RECORDED, APPROVAL_DECIDED, APPROVAL_DEADLETTER, APPROVAL_PARKED,
           STATION_INVENTORY, DESK_OUTBOX, PICKUP_READY, PICKUP_COLLECTED, REQUEST_STATUS, UNREADABLE),
    writes=(CITIZEN_INBOX,),
)

PARTIES: tuple[Party, ...] = (RECORDING_DESKS, PRINTING_STATIONS, PICKUP_DESK, OPERATORS)

Reader = Step | Party
EVERYONE: tuple[Reader, ...] = (*STEPS, *PARTIES)
BY_STEP_NAME: dict[str, Step] = {step.name: step for step in STEPS}


def co_partitioned() -> tuple[TopicSpec, ...]:
    """The topics every stateful step reads: they and the tables' changelogs must share one partition count."""
    stateful = [step for step in STEPS if step.owns or step.consults]
    return tuple(dict.fromkeys(spec for step in stateful for spec in step.reads))


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
