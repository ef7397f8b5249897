"""One worker per pipeline (`pipeline/worker/sole_worker.py`): who yields to whom, and the check after an assignment."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.worker import sole_worker
from pipeline.worker.app import create_app
from pipeline.worker.sole_worker import Member, earlier_workers, worker_client_id, yield_to_earlier_workers


def member(client_id: str) -> Member:
    return Member(member_id=f"{client_id}-member", client_id=client_id, client_host="/10.0.0.7")


def test_a_worker_client_id_sorts_by_its_start_time() -> None:
    assert worker_client_id(1.5, 7) == "ektp-worker-000000000001500-7"
    assert worker_client_id(1_764_300_000.25, 99) < worker_client_id(1_764_300_001.0, 3)


def test_a_worker_yields_to_every_other_member_that_started_before_it_or_is_not_ours() -> None:
    ours = worker_client_id(200.0, 10)
    earlier = member(worker_client_id(100.0, 11))
    later = member(worker_client_id(300.0, 12))
    foreign = member("faust-0.11.3")  # an older build's worker: it was there first, as far as this one can tell
    assert earlier_workers(ours, [member(ours), later, earlier, foreign]) == [earlier, foreign]
    assert earlier_workers(ours, [member(ours), later]) == []
    assert earlier_workers(ours, []) == []


@pytest.mark.parametrize(("started", "stops"), [(100.0, True), (300.0, False)])
async def test_after_an_assignment_a_worker_stops_when_an_earlier_one_is_in_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: float, stops: bool
) -> None:
    settings = Settings(run_dir=tmp_path / "run")
    app = create_app(settings)
    ours = worker_client_id(200.0, 10)
    other = member(worker_client_id(started, 11))
    asked: list[str] = []

    async def members_now(_settings: Settings, group: str) -> list[Member]:
        asked.append(group)
        return [member(ours), other]

    monkeypatch.setattr(sole_worker, "group_members", members_now)
    stopped: list[bool] = []
    yield_to_earlier_workers(app, settings, ours, lambda: stopped.append(True))

    await app.on_partitions_assigned.send(set())  # faust's own signal, as its rebalance sends it

    assert asked == [settings.app_id]
    assert stopped == ([True] if stops else [])


def answers(monkeypatch: pytest.MonkeyPatch, *replies: list[Member] | None) -> list[str]:
    """`group_members` answers `replies` in turn, the last one for ever; the groups asked about."""
    asked: list[str] = []

    async def members_now(_settings: Settings, group: str) -> list[Member] | None:
        asked.append(group)
        return replies[min(len(asked), len(replies)) - 1]

    monkeypatch.setattr(sole_worker, "group_members", members_now)
    monkeypatch.setattr(sole_worker, "POLL_SECONDS", 0.01)
    return asked


async def test_a_starting_worker_waits_for_a_killed_worker_to_leave_the_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = member(worker_client_id(100.0, 11))
    asked = answers(monkeypatch, [killed], [killed], [])  # its session ends on the third look
    await sole_worker.wait_until_sole_worker(Settings(run_dir=tmp_path), "ektp-pipeline", patience=30.0)
    assert asked == ["ektp-pipeline"] * 3


async def test_a_starting_worker_refuses_when_another_stays_in_the_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers(monkeypatch, [member(worker_client_id(100.0, 11))])
    with pytest.raises(sole_worker.AnotherWorkerRunning, match=r"ektp-worker-000000000100000-11 at 10\.0\.0\.7"):
        await sole_worker.wait_until_sole_worker(Settings(run_dir=tmp_path), "ektp-pipeline", patience=0.05)


async def test_a_broker_that_cannot_describe_the_group_does_not_keep_the_worker_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = answers(monkeypatch, None)
    await sole_worker.wait_until_sole_worker(Settings(run_dir=tmp_path), "ektp-pipeline", patience=0.05)
    assert len(asked) >= 2  # it kept asking until its patience ran out


async def test_after_an_assignment_a_group_that_cannot_be_described_at_first_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(run_dir=tmp_path / "run")
    app = create_app(settings)
    ours = worker_client_id(200.0, 10)
    asked = answers(monkeypatch, None, [member(ours), member(worker_client_id(100.0, 11))])
    stopped: list[bool] = []
    yield_to_earlier_workers(app, settings, ours, lambda: stopped.append(True))

    await app.on_partitions_assigned.send(set())

    assert len(asked) == 2
    assert stopped == [True]
