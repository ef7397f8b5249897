"""`ektp demo`: the day the lightning struck, told by the running pipeline in compressed time.

The story, on synthetic Tanjungpinang residents (a few of them invalid, repeated, or duplicates at
central), over `duration` seconds:

1. **morning** (first 30%): residents are recorded at the desk; central approves; the station prints
   on the blanks it has; the pickup desk hands cards to the citizens who come back for them;
2. **lightning** (next 35%): central goes `down`. Recording goes on; the new records wait in the
   dead-letter stream (AWAITING_CENTRAL) while a delivery of blanks lets the station print the cards
   central approved in the morning;
3. **the link returns**: the worker replays the dead-letter stream by itself, the backlog drains, the
   last residents of the day are recorded;
4. **pickup**: every citizen whose card was printed collects it by fingerprint.

Every second the story samples the backlog per step (`processors.backlog`) of its own requests; at the
end `pipeline.proving.report` writes the day as Markdown with a PNG chart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from rich.console import Console

from events.common import WIB
from events.enrollment import Finger
from events.pickup import PickupRequested
from events.status import RequestState
from pipeline.central.admin import call_outage_admin
from pipeline.config import Settings
from pipeline.desk.enroll import send_submissions
from pipeline.desk.pickup import PICKUP_ROLE, pickup_message
from pipeline.kafka.security import ADMIN_ROLE, client_options
from pipeline.proving.synthetic import GeneratedSubmission, Mix, generate_submissions
from pipeline.station.inventory import restock
from pipeline.status.view import StatusView
from pipeline.topology.topics import PICKUP_REQUESTED
from processors.backlog import Step, backlog_by_step, step_of

# Shares of the story's duration, and of its residents, in each part of the day.
MORNING, LIGHTNING = 0.30, 0.35
RESIDENTS_MORNING, RESIDENTS_OUTAGE = 0.45, 0.45
PRESS_AGAIN_AFTER = 5.0  # seconds before a citizen whose card still shows ready presses their thumb again


@dataclass(frozen=True)
class Sample:
    """The story's requests at one moment: how many wait at each step, how many are printed and collected."""

    at: float  # seconds since the story began
    backlog: dict[Step, int]
    printed: int
    collected: int


@dataclass
class Story:
    """What happened, for the report: samples, the marks of the day, where every request ended."""

    residents: int
    duration: float
    started_at: dt.datetime
    samples: list[Sample] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, what happened)
    outage: tuple[float, float] | None = None
    drained_after: float | None = None  # seconds from the link's return until nothing waited for central
    printed_during_outage: int = 0
    final: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    submitted: int = 0
    tracked: int = 0

    def mark(self, at: float, what: str) -> None:
        self.marks.append((round(at, 1), what))

    @property
    def peak_deadletter(self) -> int:
        return max((sample.backlog[Step.DEADLETTER] for sample in self.samples), default=0)


async def play(
    settings: Settings, console: Console, *, residents: int, duration: float, station: str, timeout: float,
    seed: int | None = None,
) -> Story:
    """Tell the story on the running pipeline; return what happened. Central is never left down."""
    submissions = generate_submissions(
        residents, seed=int(time.time()) if seed is None else seed, today=_today(), mix=_mix(residents),
    )
    ids = {s.request_id for s in submissions if s.request_id}
    story = Story(residents=residents, duration=duration, started_at=dt.datetime.now(dt.UTC),
                  submitted=len(submissions), tracked=len(ids))
    view = StatusView(settings, ADMIN_ROLE)  # the story's own watch, not a party of the pipeline
    await view.start()
    day = _Day(settings, console, view, ids, story)
    background = [asyncio.create_task(_sample(view, ids, story, day.clock)),
                  asyncio.create_task(_pickup_desk(settings, view, submissions))]
    try:
        await day.tell(submissions, station=station, timeout=timeout)
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):  # never leave the office without its link
            await call_outage_admin(settings, "POST", {"mode": "clear"})
        await view.stop()
    _sample_now(view, ids, story, day.clock)
    story.final = Counter(view.latest[i].state.value for i in ids if i in view.latest)
    story.unfinished = sum(1 for i in ids if i not in view.latest or step_of(view.latest[i].state) is not Step.DONE)
    return story


class _Day:
    """The parts of the day in order, each saying what happens on the console with the story's clock."""

    def __init__(self, settings: Settings, console: Console, view: StatusView, ids: set[str], story: Story) -> None:
        self.settings, self.console, self.view, self.ids, self.story = settings, console, view, ids, story
        self.began = time.monotonic()

    def clock(self) -> float:
        return time.monotonic() - self.began

    def say(self, text: str) -> None:
        self.console.print(f"[dim]{self.clock():6.1f}s[/] {text}", highlight=False)

    async def tell(self, submissions: Sequence[GeneratedSubmission], *, station: str, timeout: float) -> None:
        morning, outage, evening = _split(submissions)
        duration, residents = self.story.duration, self.story.residents
        first_blanks = max(1, len(morning) // 2)
        stock = await restock(self.settings, station, first_blanks)
        self.say(f"station {station}: {first_blanks} blank cards in stock ({stock.blank_stock} in all)")

        self.say(f"[bold]pagi / morning[/]: {len(morning)} residents come to the desk")
        await _record(self.settings, morning, seconds=duration * MORNING)

        await self.lightning(outage, station=station, blanks=residents + 10 - first_blanks, timeout=timeout)

        back = self.clock()
        self.story.mark(back, "link back: the worker replays the dead-letter stream")
        self.say("[bold green]pulih / link back[/]: central answers again; the dead-letter stream is replayed")
        await _record(self.settings, evening, seconds=0)
        if await self.wait(timeout, until=lambda state: step_of(state) not in WAITING_FOR_CENTRAL):
            self.story.drained_after = round(self.clock() - back, 1)
            self.story.mark(self.clock(), "backlog drained: central decided every request")
            self.say(f"the dead-letter backlog drained {self.story.drained_after:.1f}s after the link came back")
        await self.wait(timeout, until=lambda state: step_of(state) is Step.DONE)
        self.story.mark(self.clock(), "end of the day")
        self.say("[bold]sore / evening[/]: " + _progress(self.view, self.ids))

    async def lightning(
        self, outage: list[GeneratedSubmission], *, station: str, blanks: int, timeout: float
    ) -> None:
        """Central down while residents keep coming; blanks arrive; then the link is cleared."""
        began, seconds = self.clock(), self.story.duration * LIGHTNING
        self.story.mark(began, "lightning: central down")
        await call_outage_admin(self.settings, "POST", {"mode": "down", "for_seconds": seconds + timeout})
        self.say("[bold red]petir / lightning[/]: the link to central is down; recording goes on")
        delivery = asyncio.create_task(self.deliver_blanks(station, blanks, after=seconds / 3))
        await _record(self.settings, outage, seconds=seconds, report=lambda: self.say(_progress(self.view, self.ids)))
        await delivery
        await call_outage_admin(self.settings, "POST", {"mode": "clear"})
        self.story.outage = (began, self.clock())
        self.story.printed_during_outage = _printed_between(self.view, self.ids, self.story, *self.story.outage)

    async def deliver_blanks(self, station: str, blanks: int, *, after: float) -> None:
        await asyncio.sleep(after)
        stock = await restock(self.settings, station, blanks)
        self.say(f"a delivery of {blanks} blank cards reaches station {station} (stock {stock.blank_stock}): "
                 "cards central approved this morning print during the outage")

    async def wait(self, timeout: float, *, until: Callable[[RequestState], bool]) -> bool:
        """Report progress until every request satisfies `until`; False when `timeout` passes first."""
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            if all(i in self.view.latest and until(self.view.latest[i].state) for i in self.ids):
                return True
            progress = _progress(self.view, self.ids)
            if progress != shown:
                self.say(progress)
                shown = progress
            await asyncio.sleep(1.0)
        return False


WAITING_FOR_CENTRAL = frozenset({Step.INTAKE, Step.APPROVAL, Step.DEADLETTER})


def _mix(residents: int) -> Mix:
    """A few of every special kind, the rest plain: one in fifteen invalid, the others one each."""
    return Mix(invalid=max(1, residents // 15), malformed=1, repeated=1, duplicate_record=1, adjudicate=1,
               enroll_failure=1)


def _split(
    submissions: Sequence[GeneratedSubmission],
) -> tuple[list[GeneratedSubmission], list[GeneratedSubmission], list[GeneratedSubmission]]:
    """Morning, outage and evening recordings, in sending order (a derived one after its source)."""
    first = round(len(submissions) * RESIDENTS_MORNING)
    second = first + round(len(submissions) * RESIDENTS_OUTAGE)
    return list(submissions[:first]), list(submissions[first:second]), list(submissions[second:])


async def _record(
    settings: Settings, submissions: list[GeneratedSubmission], *, seconds: float,
    report: Callable[[], None] | None = None,
) -> None:
    """Send `submissions` spread evenly over `seconds` (at once when 0), reporting every few seconds."""
    if not submissions:
        await asyncio.sleep(seconds)
        return
    ticks = max(1, int(seconds))
    per_tick = -(-len(submissions) // ticks)
    for tick in range(ticks):
        started = time.monotonic()
        chunk = submissions[tick * per_tick:(tick + 1) * per_tick]
        if chunk:
            await send_submissions(settings, chunk)
        if report is not None and tick % 5 == 4:
            report()
        if seconds:
            await asyncio.sleep(max(0.0, seconds / ticks - (time.monotonic() - started)))


async def _sample(view: StatusView, ids: set[str], story: Story, clock: Callable[[], float]) -> None:
    while True:
        _sample_now(view, ids, story, clock)
        await asyncio.sleep(1.0)


def _sample_now(view: StatusView, ids: set[str], story: Story, clock: Callable[[], float]) -> None:
    states = [view.latest[i].state for i in ids if i in view.latest]
    printed = sum(1 for state in states if state in PRINTED_OR_LATER)
    collected = sum(1 for state in states if state is RequestState.COLLECTED)
    story.samples.append(Sample(round(clock(), 1), backlog_by_step(states), printed, collected))


PRINTED_OR_LATER = frozenset({RequestState.PRINTED, RequestState.READY_FOR_PICKUP, RequestState.COLLECTED})


def _printed_between(view: StatusView, ids: set[str], story: Story, start: float, end: float) -> int:
    """Cards whose timeline says PRINTED between `start` and `end` seconds of the story."""
    low = story.started_at + dt.timedelta(seconds=start)
    high = story.started_at + dt.timedelta(seconds=end)
    return sum(
        1 for i in ids if i in view.latest
        for entry in view.latest[i].timeline if entry.state is RequestState.PRINTED and low <= entry.at <= high
    )


async def _pickup_desk(settings: Settings, view: StatusView, submissions: list[GeneratedSubmission]) -> None:
    """Citizens whose card is ready come and press their right thumb; the first presses the wrong finger first.

    A citizen whose card still shows ready some seconds after they pressed presses again, as at a real
    desk. Every citizen with a card comes, a duplicate's too: when the outage's replay reaches central's
    duplicate before its source, central takes the source for the duplicate and approves the other.
    """
    producer = AIOKafkaProducer(**client_options(settings, PICKUP_ROLE), acks="all", enable_idempotence=True)
    await producer.start()
    presented: dict[str, float] = {}  # request id -> when its citizen last pressed
    try:
        while True:
            for submission in submissions:
                request_id = submission.request_id
                if request_id is None:  # a duplicate central approved before its source comes for its card too
                    continue
                if view.state_of(request_id) is not RequestState.READY_FOR_PICKUP:
                    continue
                if time.monotonic() - presented.get(request_id, -PRESS_AGAIN_AFTER) < PRESS_AGAIN_AFTER:
                    continue
                fingers = submission.document()["biometrics"]["fingerprints"]
                presses = [] if presented else [fingers["left_thumb"]]  # the day's first citizen: wrong finger
                for digest in [*presses, fingers["right_thumb"]]:
                    request = PickupRequested(request_id=request_id, finger=Finger.RIGHT_THUMB, fingerprint=digest,
                                              desk_id="AMBIL-01", requested_at=dt.datetime.now(dt.UTC))
                    key, value = pickup_message(request, view.latest[request_id].citizen_key or "")
                    await producer.send_and_wait(PICKUP_REQUESTED.name, value, key=key)
                presented[request_id] = time.monotonic()
            await asyncio.sleep(0.5)
    finally:
        await producer.stop()


def _progress(view: StatusView, ids: set[str]) -> str:
    backlog = backlog_by_step(view.latest[i].state for i in ids if i in view.latest)
    waiting = ", ".join(f"{step.value} {count}" for step, count in backlog.items() if count)
    done = sum(1 for i in ids if i in view.latest and step_of(view.latest[i].state) is Step.DONE)
    return f"waiting: {waiting or 'none'}; done {done}/{len(ids)}"


def _today() -> dt.date:
    return dt.datetime.now(WIB).date()

