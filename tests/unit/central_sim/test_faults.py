"""The outage state machine on a clock moved by hand: expiry, scheduled windows, clear."""

from __future__ import annotations

from typing import Any

import pytest

from central_sim.faults import FaultSchedule, OutageCommand, OutageMode


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A clock at a fixed start."""
    return FakeClock()


@pytest.fixture
def faults(clock: FakeClock) -> FaultSchedule:
    """A schedule with no outage, on the fake clock."""
    return FaultSchedule(clock)


def command(**fields: Any) -> OutageCommand:
    return OutageCommand.model_validate(fields)


def test_no_outage_is_normal(faults: FaultSchedule) -> None:
    """Without a command the link is normal and nothing is pending."""
    assert faults.in_force().mode is OutageMode.NORMAL
    assert faults.next_change_in() is None


def test_mode_without_duration_lasts_until_cleared(faults: FaultSchedule, clock: FakeClock) -> None:
    """`down` with no for_seconds holds however long, until `clear`."""
    faults.command(command(mode="down"))
    clock.advance(10 * 24 * 3600)
    assert faults.in_force().mode is OutageMode.DOWN
    faults.command(command(mode="clear"))
    assert faults.in_force().mode is OutageMode.NORMAL


def test_for_seconds_ends_the_mode_by_itself(faults: FaultSchedule, clock: FakeClock) -> None:
    """A mode with for_seconds ends on its own when the time is up."""
    faults.command(command(mode="hang", for_seconds=2))
    assert faults.next_change_in() == pytest.approx(2)
    clock.advance(1.999)
    assert faults.in_force().mode is OutageMode.HANG
    clock.advance(0.001)
    assert faults.in_force().mode is OutageMode.NORMAL
    assert faults.next_change_in() is None


def test_flaky_and_slow_carry_their_parameters(faults: FaultSchedule) -> None:
    """The window in force carries the error rate and added latency of its command."""
    faults.command(command(mode="flaky", error_rate=0.25))
    assert faults.in_force().error_rate == 0.25
    faults.command(command(mode="slow", latency_seconds=1.5))
    window = faults.in_force()
    assert (window.mode, window.latency_seconds) == (OutageMode.SLOW, 1.5)


def test_scheduled_window_starts_and_ends_on_time(faults: FaultSchedule, clock: FakeClock) -> None:
    """A window with start_in_seconds begins then and ends for_seconds later."""
    faults.command(command(mode="down", start_in_seconds=5, for_seconds=3))
    assert faults.in_force().mode is OutageMode.NORMAL
    assert [window.mode for window in faults.scheduled()] == [OutageMode.DOWN]
    assert faults.next_change_in() == pytest.approx(5)
    clock.advance(5)
    assert faults.in_force().mode is OutageMode.DOWN
    assert faults.scheduled() == []
    assert faults.next_change_in() == pytest.approx(3)
    clock.advance(3)
    assert faults.in_force().mode is OutageMode.NORMAL


def test_a_new_command_replaces_the_mode_in_force(faults: FaultSchedule, clock: FakeClock) -> None:
    """A command given now ends the mode in force; when it ends, the link is normal, not the old mode."""
    faults.command(command(mode="down"))
    faults.command(command(mode="slow", for_seconds=5))
    assert faults.in_force().mode is OutageMode.SLOW
    clock.advance(5)
    assert faults.in_force().mode is OutageMode.NORMAL


def test_a_scheduled_window_ends_the_mode_before_it(faults: FaultSchedule, clock: FakeClock) -> None:
    """When a scheduled window starts it supersedes the mode in force, and that mode does not come back."""
    faults.command(command(mode="slow"))
    faults.command(command(mode="flaky", error_rate=1.0, start_in_seconds=1, for_seconds=1))
    clock.advance(1)
    assert faults.in_force().mode is OutageMode.FLAKY
    clock.advance(1)
    assert faults.in_force().mode is OutageMode.NORMAL


def test_clear_now_ends_the_mode_and_cancels_the_schedule(faults: FaultSchedule, clock: FakeClock) -> None:
    """An immediate clear ends the mode in force and every scheduled window."""
    faults.command(command(mode="hang"))
    faults.command(command(mode="down", start_in_seconds=10))
    faults.command(command(mode="clear"))
    assert faults.in_force().mode is OutageMode.NORMAL
    assert faults.scheduled() == []
    clock.advance(20)
    assert faults.in_force().mode is OutageMode.NORMAL


def test_scheduled_clear_ends_the_mode_at_its_time(faults: FaultSchedule, clock: FakeClock) -> None:
    """A clear with start_in_seconds ends the mode in force then."""
    faults.command(command(mode="down"))
    faults.command(command(mode="clear", start_in_seconds=4))
    clock.advance(3.9)
    assert faults.in_force().mode is OutageMode.DOWN
    clock.advance(0.1)
    assert faults.in_force().mode is OutageMode.NORMAL


def test_commands_out_of_range_are_refused() -> None:
    """An error rate above 1, a negative start, a zero duration or an unknown mode do not validate."""
    for fields in (
        {"mode": "flaky", "error_rate": 1.5},
        {"mode": "down", "start_in_seconds": -1},
        {"mode": "down", "for_seconds": 0},
        {"mode": "melt"},
        {"mode": "down", "forever": True},
    ):
        with pytest.raises(ValueError, match="validation error"):
            OutageCommand.model_validate(fields)
