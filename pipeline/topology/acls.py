"""Who may read and write what: the broker's ACLs, derived from the routing table and the topic registry.

Each program authenticates as the principal of its role (`Party.role`; the worker's steps as `worker`) and
gets exactly what the routing table says it reads and writes, plus the consumer groups and internal topics
its client needs. Nothing is granted by hand, so a topic added to the registry and the routing table gets
its ACLs with it, and a topic no route names is open to no role. The broker's own principals (`admin`, the
brokers and controllers) are super users and need none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pipeline.topology.routes import PARTIES, STEPS
from pipeline.topology.topics import REGISTRY, TopicSpec

ResourceType = Literal["TOPIC", "GROUP"]
Pattern = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS"]

WORKER_ROLE = "worker"
STATION_GROUP_PREFIX = "ektp-station-"  # pipeline.station.config.StationConfig.group_id: one group per office


@dataclass(frozen=True, order=True)
class Acl:
    """One `ALLOW` entry: `principal` may do `operation` on the resource."""

    principal: str
    resource_type: ResourceType
    pattern: Pattern
    name: str
    operation: Operation

    @property
    def role(self) -> str:
        return self.principal.removeprefix("User:")


def principal(role: str) -> str:
    return f"User:{role}"


def roles() -> tuple[str, ...]:
    """Every role a program may authenticate as, the worker's first."""
    return (WORKER_ROLE, *dict.fromkeys(party.role for party in PARTIES))


def _topics(role: str, specs: Iterable[TopicSpec], operation: Operation) -> list[Acl]:
    return [Acl(principal(role), "TOPIC", "LITERAL", spec.name, operation) for spec in specs]


def acls(app_id: str) -> list[Acl]:
    """The whole set, sorted: each role's reads and writes by the routing table, and what its clients need."""
    entries: list[Acl] = []
    for step in STEPS:
        entries += _topics(WORKER_ROLE, step.reads, "READ") + _topics(WORKER_ROLE, step.writes, "WRITE")
    worker = principal(WORKER_ROLE)
    # A starting worker creates the registry's topics it finds missing, and checks their partition counts.
    entries += _topics(WORKER_ROLE, REGISTRY, "CREATE") + _topics(WORKER_ROLE, REGISTRY, "DESCRIBE")
    entries += [
        Acl(worker, "GROUP", "LITERAL", app_id, "READ"),  # faust's consumer group is its app id
        # faust's own topics: the tables' changelogs and its assignor's, all named `<app id>-...`.
        *(Acl(worker, "TOPIC", "PREFIXED", f"{app_id}-", operation)
          for operation in ("CREATE", "READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")),
    ]
    for party in PARTIES:
        entries += _topics(party.role, party.reads, "READ") + _topics(party.role, party.writes, "WRITE")
    station = next(party.role for party in PARTIES if party.name == "printing stations")
    entries.append(Acl(principal(station), "GROUP", "PREFIXED", STATION_GROUP_PREFIX, "READ"))
    operator = next(party.role for party in PARTIES if party.name == "operators")
    # The dashboard's lag: the end offsets of every topic and the offsets the worker's and stations' groups
    # committed.
    entries += _topics(operator, REGISTRY, "DESCRIBE")
    entries += [Acl(principal(operator), "GROUP", "LITERAL", app_id, "DESCRIBE"),
                Acl(principal(operator), "GROUP", "PREFIXED", STATION_GROUP_PREFIX, "DESCRIBE")]
    return sorted(set(entries))


def may(entries: Iterable[Acl], role: str, operation: Operation, topic: str) -> bool:
    """Whether `role` may do `operation` on `topic` by these entries (READ and WRITE imply DESCRIBE)."""
    implied = {operation, *({"READ", "WRITE"} if operation == "DESCRIBE" else set())}
    return any(
        entry.principal == principal(role) and entry.resource_type == "TOPIC" and entry.operation in implied
        and (entry.name == topic if entry.pattern == "LITERAL" else topic.startswith(entry.name))
        for entry in entries
    )


def markdown_table(entries: Iterable[Acl]) -> str:
    """`entries` as the README's table: one row per role, what it reads, writes, which groups, and the rest.

    A set of topics that is the whole registry is named so, not listed.
    """
    everything = {spec.name for spec in REGISTRY}
    by_role: dict[str, list[Acl]] = {}
    for entry in sorted(set(entries)):
        by_role.setdefault(entry.role, []).append(entry)

    def names(selected: list[Acl]) -> str:
        literal = sorted({entry.name for entry in selected if entry.pattern == "LITERAL"})
        prefixed = sorted({f"{entry.name}*" for entry in selected if entry.pattern == "PREFIXED"})
        if literal and set(literal) == everything and len(everything) > 1:
            shown = ["every registry topic"]
        else:
            shown = [f"`{name}`" for name in literal]
        return ", ".join(shown + [f"`{name}`" for name in prefixed]) or "nothing"

    def rest(selected: list[Acl]) -> str:
        by_operation: dict[str, list[Acl]] = {}
        for entry in selected:
            by_operation.setdefault(entry.operation, []).append(entry)
        return "; ".join(f"{operation.lower().replace('_', ' ')}: {names(found)}"
                         for operation, found in sorted(by_operation.items())) or "nothing"

    rows = ["| role (principal) | reads | writes | consumer groups | besides |", "| --- | --- | --- | --- | --- |"]
    for role in [role for role in roles() if role in by_role]:
        own = by_role[role]
        topics = [entry for entry in own if entry.resource_type == "TOPIC"]
        plain = [entry for entry in topics if entry.pattern == "LITERAL"]
        reads = [entry for entry in plain if entry.operation == "READ"]
        writes = [entry for entry in plain if entry.operation == "WRITE"]
        besides = [entry for entry in topics if entry not in reads and entry not in writes]
        groups = [entry for entry in own if entry.resource_type == "GROUP"]
        rows.append(f"| {role} (`{principal(role)}`) | {names(reads)} | {names(writes)} | {rest(groups)} | "
                    f"{rest(besides)} |")
    return "\n".join(rows) + "\n"
