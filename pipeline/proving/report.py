"""The demo's report: the day as Markdown, and a PNG chart of the backlog per step over time.

The chart is drawn with Pillow (already a dependency for the station's cards): one line per step a
request can wait at, the outage shaded, so the dead-letter backlog's growth and drain are seen at once.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from events.common import WIB
from pipeline.proving.demo import Sample, Story
from processors.backlog import WAITING_STEPS, Step

WIDTH, HEIGHT = 1000, 520
LEFT, RIGHT, TOP, BOTTOM = 70, 230, 50, 60  # margins around the plot area; the legend sits on the right

COLOURS: dict[Step, str] = {
    Step.INTAKE: "#7f7f7f",
    Step.APPROVAL: "#1f77b4",
    Step.DEADLETTER: "#d62728",
    Step.PARKED: "#9467bd",
    Step.PRINT: "#ff7f0e",
    Step.PICKUP: "#2ca02c",
}
LABELS: dict[Step, str] = {
    Step.INTAKE: "intake / penerimaan",
    Step.APPROVAL: "approval / persetujuan",
    Step.DEADLETTER: "dead-letter / antrean gagal",
    Step.PARKED: "parked / ditahan",
    Step.PRINT: "print / cetak",
    Step.PICKUP: "pickup / pengambilan",
}


def write_report(story: Story, folder: Path) -> tuple[Path, Path]:
    """Write `demo-<time>.md` and `demo-<time>.png` into `folder`; return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "demo-" + story.started_at.strftime("%Y%m%dT%H%M%SZ")
    chart, markdown = folder / f"{stem}.png", folder / f"{stem}.md"
    draw_backlog_chart(story, chart)
    markdown.write_text(render_markdown(story, chart.name), encoding="utf-8")
    return markdown, chart


def render_markdown(story: Story, chart_name: str) -> str:
    """The day in words and figures; no NIK or biometric appears (the story holds none)."""
    wib = story.started_at.astimezone(WIB)
    lines = [
        "# Hari petir / The day the lightning struck",
        "",
        f"A compressed day at the Disdukcapil office of Kota Tanjung Pinang, played on {wib:%Y-%m-%d %H:%M} WIB:",
        f"{story.residents} residents over {story.duration:.0f} seconds ({story.submitted} submissions sent, "
        f"{story.tracked} with a request id to follow).",
        "",
        f"![backlog per step over time]({chart_name})",
        "",
        "## What happened / Apa yang terjadi",
        "",
        "| at (s) | event |",
        "|---:|---|",
        *(f"| {at:.1f} | {what} |" for at, what in story.marks),
        "",
        "## Figures / Angka",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| outage (s) | {_outage_seconds(story)} |",
        f"| most requests waiting in the dead-letter stream | {story.peak_deadletter} |",
        f"| cards printed while central was down | {story.printed_during_outage} |",
        f"| seconds from the link's return until the backlog drained | {_or_dash(story.drained_after)} |",
        f"| cards collected | {story.final.get('COLLECTED', 0)} |",
        f"| requests not finished when the story ended | {story.unfinished} |",
        "",
        "## Where every request ended / Status akhir",
        "",
        "| state | requests |",
        "|---|---:|",
        *(f"| {state} | {count} |" for state, count in story.final.most_common()),
        "",
    ]
    if story.unfinished:
        lines += [f"**{story.unfinished} requests had not finished**: see `ektp status REQUEST_ID` and "
                  "`ektp dlq stats`.", ""]
    return "\n".join(lines)


def draw_backlog_chart(story: Story, path: Path) -> None:
    """A line per waiting step over the story's seconds, the outage shaded; saved as PNG at `path`."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font, title_font = ImageFont.load_default(size=13), ImageFont.load_default(size=17)
    samples = story.samples or [Sample(0.0, dict.fromkeys(WAITING_STEPS, 0), 0, 0)]
    x_max = max(samples[-1].at, 1.0)
    y_max = _nice_ceiling(max(max(sample.backlog.values()) for sample in samples))
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)

    def x(at: float) -> float:
        return plot[0] + (plot[2] - plot[0]) * at / x_max

    def y(count: float) -> float:
        return plot[3] - (plot[3] - plot[1]) * count / y_max

    if story.outage:
        draw.rectangle((x(story.outage[0]), plot[1], x(story.outage[1]), plot[3]), fill="#f2f2f2")
        draw.text((x(story.outage[0]) + 4, plot[1] + 4), "central down / pusat putus", fill="#555555", font=font)
    for tick in range(5):
        count = y_max * tick / 4
        draw.line((plot[0], y(count), plot[2], y(count)), fill="#e0e0e0")
        draw.text((plot[0] - 8, y(count)), f"{count:.0f}", fill="black", font=font, anchor="rm")
        at = x_max * tick / 4
        draw.text((x(at), plot[3] + 8), f"{at:.0f}s", fill="black", font=font, anchor="mt")
    draw.rectangle(plot, outline="black")
    steps = [step for step in WAITING_STEPS if any(sample.backlog[step] for sample in samples)] or list(WAITING_STEPS)
    for step in steps:
        points = [(x(sample.at), y(sample.backlog[step])) for sample in samples]
        if len(points) > 1:
            draw.line(points, fill=COLOURS[step], width=3)
    for row, step in enumerate(steps):
        top = plot[1] + 10 + row * 22
        draw.line((plot[2] + 14, top + 7, plot[2] + 38, top + 7), fill=COLOURS[step], width=3)
        draw.text((plot[2] + 44, top), LABELS[step], fill="black", font=font)
    draw.text((WIDTH / 2, 14), "Requests waiting at each step / Permohonan menunggu per tahap", fill="black",
              font=title_font, anchor="mt")
    draw.text((WIDTH / 2, HEIGHT - 20), "seconds since the office opened / detik sejak kantor buka", fill="black",
              font=font, anchor="mt")
    image.save(path, format="PNG")


def _nice_ceiling(value: int) -> int:
    """The first of 4, 8, 20, 40, 80, 200, ... at or above `value`: round numbers on a 4-step axis."""
    magnitude = 1
    while True:
        for base in (4, 8, 20):
            if base * magnitude >= value:
                return base * magnitude
        magnitude *= 10


def _outage_seconds(story: Story) -> str:
    return f"{story.outage[1] - story.outage[0]:.1f}" if story.outage else "-"


def _or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
