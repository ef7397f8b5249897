"""The parts of the README and `docs/architecture.md` that the routing table and the topic registry write.

Each generated part sits between `<!-- generated: NAME -->` and `<!-- end generated -->` in its file;
`ektp topics docs` rewrites them, and `ektp topics docs --check` (and a unit test) fails when a committed
copy differs from what the code says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pipeline.config import Settings
from pipeline.topology.routes import (
    PARTIES,
    STEPS,
    Reader,
    Step,
    labels,
    processor_name,
    readers_of,
    writers_of,
)
from pipeline.topology.topics import FOREVER, REGISTRY, TopicSpec

DAY_MS = 24 * 60 * 60 * 1000
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def _node(who: Reader) -> str:
    """A Mermaid node: agents as circles, tasks as stadiums, the programs beside the worker as boxes."""
    if isinstance(who, Step):
        return f"{who.node}(({who.label}))" if who.kind == "agent" else f"{who.node}([{who.label}])"
    return f"{who.node}[{who.label}]"


def flow_diagram() -> str:
    """A Mermaid flowchart: every step and party, an arrow per topic from its writers to each reader.

    Internal topics are dotted arrows: the pipeline's own plumbing, beside the contract's flow.
    """
    lines = ["```mermaid", "flowchart LR"]
    everyone: tuple[Reader, ...] = (*PARTIES, *STEPS)
    lines += [f"    {_node(who)}" for who in everyone]
    lines.append("    central[(central server)]")
    for step in STEPS:
        if step.calls:
            lines.append(f'    {step.node} <-.->|"{step.calls}"| central')
    for spec in REGISTRY:
        arrow = "-.->" if spec.internal else "-->"
        for reader in readers_of(spec):
            writers = [who for who in writers_of(spec) if who != reader]
            if writers:
                lines.append(f"    {' & '.join(who.node for who in writers)} {arrow}|{spec.name}| {reader.node}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _topics(specs: tuple[TopicSpec, ...]) -> str:
    return ", ".join(f"`{spec.name}`" for spec in specs) or "-"


def routing_table() -> str:
    """The worker's steps as a Markdown table: what each reads, which processors decide, what it writes."""
    rows = ["| step | reads | decides | writes | tables |", "| --- | --- | --- | --- | --- |"]
    for step in STEPS:
        decides = ", ".join(f"`{processor_name(function)}`" for function in step.decides)
        tables = ", ".join([*(f"`{name}` (owns)" for name in step.owns), *(f"`{name}`" for name in step.consults)])
        name = f"`{step.name}` ({step.label}{', a task' if step.kind == 'task' else ''})"
        rows.append(f"| {name} | {_topics(step.reads)} | {decides} | {_topics(step.writes)} | {tables or '-'} |")
    return "\n".join(rows) + "\n"


def parties_table() -> str:
    """The programs beside the worker as a Markdown table, with the Kafka role each connects as."""
    rows = ["| party | side | role | programs | reads | writes |", "| --- | --- | --- | --- | --- | --- |"]
    for party in PARTIES:
        rows.append(f"| {party.label} | {party.side} | `{party.role}` | {party.programs} | {_topics(party.reads)} "
                    f"| {_topics(party.writes)} |")
    return "\n".join(rows) + "\n"


def _retention(spec: TopicSpec) -> str:
    if spec.retention_ms == FOREVER:
        return "for ever"
    return f"{spec.retention_ms // DAY_MS} days"


def topic_map() -> str:
    """Every topic of the registry as a Markdown table: key, partitions, cleanup, retention, writers, readers."""
    defaults = Settings.model_construct()  # the defaults, not whoever runs this
    rows = ["| topic | key | value | partitions | kept | written by | read by |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for spec in REGISTRY:
        partitions = spec.partition_count(defaults.topic_partitions)
        kept = f"{spec.cleanup_policy}, {_retention(spec)}"
        name = f"`{spec.name}`" + (" (internal)" if spec.internal else "")
        rows.append(f"| {name} | {spec.key} | {spec.value} | {partitions} | {kept} | {labels(writers_of(spec))} "
                    f"| {labels(readers_of(spec))} |")
    return "\n".join(rows) + "\n"


BLOCKS: dict[str, Callable[[], str]] = {
    "flow-diagram": flow_diagram,
    "routing-table": routing_table,
    "parties": parties_table,
    "topic-map": topic_map,
}
DOCUMENTS = ("README.md", "docs/architecture.md")


def rendered(text: str) -> str:
    """`text` with each generated block replaced by what the code says now."""
    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            raise KeyError(f"no generated block named {name!r}; known: {sorted(BLOCKS)}")
        return match.group(1) + BLOCKS[name]() + match.group(4)

    return BLOCK.sub(fill, text)


def stale_documents(root: Path) -> list[str]:
    """The documents under `root` whose generated blocks differ from what the code says."""
    return [name for name in DOCUMENTS if rendered((root / name).read_text()) != (root / name).read_text()]


def write_documents(root: Path) -> list[str]:
    """Rewrite the generated blocks of every document under `root`; the names of those that changed."""
    changed = stale_documents(root)
    for name in changed:
        path = root / name
        path.write_text(rendered(path.read_text()))
    return changed
