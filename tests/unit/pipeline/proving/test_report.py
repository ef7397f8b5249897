"""The demo's report: Markdown figures from the story, and a chart that draws the backlog it was given."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from PIL import Image

from pipeline.proving.demo import Sample, Story
from pipeline.proving.report import COLOURS, write_report
from processors.backlog import WAITING_STEPS, Step


def _story() -> Story:
    story = Story(residents=40, duration=60, started_at=dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC),
                  submitted=40, tracked=39)
    for second in range(60):
        dead = second - 20 if 20 <= second < 40 else max(0, 60 - 3 * second) if second >= 40 else 0
        backlog = dict.fromkeys(WAITING_STEPS, 0) | {Step.DEADLETTER: dead, Step.PRINT: 2}
        story.samples.append(Sample(float(second), backlog, printed=second // 2, collected=second // 3))
    story.outage = (20.0, 40.0)
    story.mark(20, "lightning: central down")
    story.mark(40, "link back: the worker replays the dead-letter stream")
    story.drained_after = 6.5
    story.printed_during_outage = 7
    story.final = Counter({"COLLECTED": 35, "REJECTED": 4})
    return story


def test_the_markdown_tells_the_figures_and_links_the_chart(tmp_path: Path) -> None:
    markdown, chart = write_report(_story(), tmp_path)

    text = markdown.read_text()
    assert markdown.name == "demo-20261128T010000Z.md"
    assert chart.name == "demo-20261128T010000Z.png"
    assert f"![backlog per step over time]({chart.name})" in text
    assert "| most requests waiting in the dead-letter stream | 19 |" in text
    assert "| cards printed while central was down | 7 |" in text
    assert "| seconds from the link's return until the backlog drained | 6.5 |" in text
    assert "| outage (s) | 20.0 |" in text
    assert "| COLLECTED | 35 |" in text
    assert "| 20.0 | lightning: central down |" in text
    assert "had not finished" not in text


def test_the_chart_draws_the_steps_that_had_a_backlog(tmp_path: Path) -> None:
    _, chart = write_report(_story(), tmp_path)

    with Image.open(chart) as image:
        counted = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    colours = {"#" + bytes(int(channel) for channel in rgb).hex() for _, rgb in counted if isinstance(rgb, tuple)}
    assert COLOURS[Step.DEADLETTER] in colours
    assert COLOURS[Step.PRINT] in colours
    assert COLOURS[Step.APPROVAL] not in colours, "a step that never had a backlog is left out"
