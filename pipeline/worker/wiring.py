"""A step of the routing table as faust topics: what it reads, and the only topics it may send to."""

from __future__ import annotations

from dataclasses import dataclass, field

import faust

from pipeline.central import CentralClient
from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.topology.routes import Step
from pipeline.topology.topics import TopicSpec
from pipeline.worker import metrics
from pipeline.worker.agents.kafka_io import Output
from pipeline.worker.citizens import CitizenTable
from pipeline.worker.faust_fixes import finish_writes_before_revocation
from pipeline.worker.standby import keep_standby_copies


class RoutingError(EktpError):
    """An agent asked for a topic its step does not declare, or declares one it never uses."""


@dataclass
class StepTopics:
    """The faust topics of one step; an agent gets its outputs here, and only what its step writes."""

    app: faust.App
    step: Step
    asked: set[str] = field(default_factory=set)

    def source(self) -> faust.TopicT:
        """Every topic the step reads, as one faust topic of raw bytes."""
        return self.app.topic(*(spec.name for spec in self.step.reads), key_serializer="raw", value_serializer="raw")

    def output(self, spec: TopicSpec) -> Output:
        """`spec` as a topic to send to; a `RoutingError` when the step does not write it."""
        return Output(self.app, self.checked(spec))

    def checked(self, spec: TopicSpec) -> TopicSpec:
        """`spec`, once it is sure the step writes it; a `RoutingError` when it does not."""
        if spec not in self.step.writes:
            raise RoutingError(f"{self.step.name} may not write {spec.name}: the routing table does not say so "
                               "(pipeline/topology/routes.py)")
        self.asked.add(spec.name)
        return spec

    def unused(self) -> list[str]:
        """Topics the step declares it writes but its agent never asked for."""
        return [spec.name for spec in self.step.writes if spec.name not in self.asked]


@dataclass
class Wiring:
    """What the steps of one worker share: the app, the settings, the link to central and the citizens' table."""

    app: faust.App
    settings: Settings
    central: CentralClient = field(init=False)
    citizens: CitizenTable = field(init=False)

    def __post_init__(self) -> None:
        self.central = CentralClient(self.settings)
        self.central.breaker.on_change = metrics.breaker_changed
        self.citizens = CitizenTable(self.app, self.settings.topic_partitions)
        finish_writes_before_revocation(self.app, self.citizens)
        keep_standby_copies(self.app)

    def owned_partitions(self, spec: TopicSpec) -> set[int]:
        """The partitions of `spec` this worker processes now; none while it is not started or rebalancing."""
        try:
            assignment = self.app.consumer.assignment()
        except Exception:  # noqa: BLE001 (not started yet, or rebalancing: own nothing this round)
            return set()
        return {tp.partition for tp in assignment if tp.topic == spec.name}
