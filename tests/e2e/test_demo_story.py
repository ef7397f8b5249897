"""The demo's story on the real system: lightning, a dead-letter backlog, replay, printing, pickup, and
a report whose chart shows the backlog per step over time."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from pipeline.proving.demo import play
from pipeline.proving.report import HEIGHT, WIDTH, write_report
from pipeline.proving.sandbox import FAST_LINK, Sandbox
from processors.backlog import Step
from tests.e2e.conftest import STATION

pytestmark = pytest.mark.e2e


async def test_the_day_of_the_lightning_ends_with_every_card_collected_and_a_report(tmp_path: Path) -> None:
    console = Console(record=True, width=200)

    # A system of its own, as `make demo` has: the package's system has its worker restarted by other tests.
    async with Sandbox(only=("central-sim", "worker", "station"), station=STATION, central_flags=("--latency-ms", "5"),
                       topic_partitions=3, broker_heap="384m", dlq_max_attempts=3, **FAST_LINK) as settings:
        story = await play(settings, console, residents=24, duration=24, station=STATION, timeout=120,
                           seed=random.randrange(2**31))
    markdown, chart = write_report(story, tmp_path / "reports")

    assert story.unfinished == 0, story.final
    assert story.final["COLLECTED"] > 0
    assert story.outage is not None
    assert story.drained_after is not None
    assert story.peak_deadletter > 0, "records made during the outage waited in the dead-letter stream"
    during = [s for s in story.samples if story.outage[0] <= s.at <= story.outage[1]]
    assert max(s.backlog[Step.DEADLETTER] for s in during) > 0
    assert story.samples[-1].backlog[Step.DEADLETTER] == 0
    assert [what.split(":")[0] for _, what in story.marks][:3] == ["lightning", "link back", "backlog drained"]

    text = markdown.read_text()
    assert f"]({chart.name})" in text
    assert f"| cards collected | {story.final['COLLECTED']} |" in text
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", text + console.export_text()), "a full NIK was shown"
    with Image.open(chart) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH, HEIGHT)
        assert len(image.getcolors(maxcolors=100_000) or []) > 10, "the chart has lines, not a blank canvas"
