"""The desk's outbox: saved in recording order, forgotten once acknowledged, private, one desk per file."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from pipeline.desk.outbox import DeskError, Outbox, outbox_path

T0 = dt.datetime(2026, 12, 3, 8, 10, tzinfo=dt.UTC)


def test_submissions_wait_in_recording_order_and_go_once_acknowledged(tmp_path: Path) -> None:
    with Outbox(outbox_path(tmp_path, "REKAM-01"), "REKAM-01") as outbox:
        outbox.save([(b"k1", b"first"), (None, b"no key")], now=T0)
        outbox.save([(b"k1", b"second")], now=T0 + dt.timedelta(minutes=5))
        waiting = outbox.waiting(10)
        assert [(item.key, item.value) for item in waiting] == [(b"k1", b"first"), (None, b"no key"),
                                                                 (b"k1", b"second")]
        outbox.mark_sent(waiting[:2])
        state = outbox.state()
        assert (state.pending, state.sent, state.saved, state.oldest_pending_at) == (
            1, 2, 3, T0 + dt.timedelta(minutes=5))
        assert [item.value for item in outbox.waiting(10)] == [b"second"]


def test_a_batch_is_the_oldest_first(tmp_path: Path) -> None:
    with Outbox(outbox_path(tmp_path, "REKAM-01"), "REKAM-01") as outbox:
        outbox.save((None, str(number).encode()) for number in range(7))
        assert [item.value for item in outbox.waiting(3)] == [b"0", b"1", b"2"]


def test_what_was_saved_survives_a_reopen_as_a_second_process_sees_it(tmp_path: Path) -> None:
    path = outbox_path(tmp_path, "REKAM-01")
    with Outbox(path, "REKAM-01") as writer, Outbox(path, "REKAM-01") as reader:
        writer.save([(b"k", b"v")], now=T0)
        assert reader.state().pending == 1
    with Outbox(path, "REKAM-01") as reopened:
        assert [item.value for item in reopened.waiting(5)] == [b"v"]
        assert reopened.state().oldest_pending_at == T0


def test_an_empty_outbox_has_no_oldest(tmp_path: Path) -> None:
    with Outbox(outbox_path(tmp_path, "REKAM-01"), "REKAM-01") as outbox:
        assert (outbox.state().pending, outbox.state().oldest_pending_at) == (0, None)


def test_the_outbox_holds_personal_data_so_only_its_owner_reads_it(tmp_path: Path) -> None:
    path = outbox_path(tmp_path, "REKAM-01")
    Outbox(path, "REKAM-01").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_desk_does_not_open_another_desks_outbox(tmp_path: Path) -> None:
    path = outbox_path(tmp_path, "REKAM-01")
    Outbox(path, "REKAM-01").close()
    with pytest.raises(DeskError, match="outbox of desk REKAM-01"):
        Outbox(path, "REKAM-02")


@pytest.mark.parametrize("desk_id", ["", "../etc", "a b", "x" * 65, "-lead"])
def test_a_desk_id_names_a_folder_so_it_is_checked(tmp_path: Path, desk_id: str) -> None:
    with pytest.raises(DeskError, match="desk id"):
        outbox_path(tmp_path, desk_id)
