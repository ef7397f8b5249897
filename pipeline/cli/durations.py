"""Durations as people type them: `30s`, `2m`, `500ms`, `1h`, `1.5s`, or plain seconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError when it is not a duration."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (say 30s, 2m, 500ms or 1h)")
    return float(match.group(1)) * _SECONDS[match.group(2)]
