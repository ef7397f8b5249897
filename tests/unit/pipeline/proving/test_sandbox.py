"""A private system's settings: free ports for every node of its broker, and the replication its size calls for."""

from __future__ import annotations

import socket
from collections import deque
from pathlib import Path

import pytest

from pipeline.proving.sandbox import LOWEST_PORT, ephemeral_ports, free_port, free_ports_in_a_row, private_settings


def test_a_run_of_free_ports_is_consecutive_free_and_clear_of_the_ports_to_avoid() -> None:
    """A cluster's nodes take consecutive ports; none of them is listened on, none is in `avoid`."""
    first = free_ports_in_a_row(3)
    second = free_ports_in_a_row(3, avoid=range(first, first + 3))
    assert not set(range(first, first + 3)) & set(range(second, second + 3))
    for port in [*range(first, first + 3), *range(second, second + 3)]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))


def test_a_private_cluster_replicates_three_times_whatever_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ektp chaos --nodes 3` run from a shell that exported one node's settings still gets RF 3 and min ISR 2."""
    monkeypatch.setenv("EKTP_BROKER_NODES", "1")
    monkeypatch.setenv("EKTP_TOPIC_REPLICATION", "1")
    settings = private_settings(tmp_path, broker_nodes=3)
    assert settings.broker_nodes == 3
    assert (settings.topic_replication, settings.topic_min_insync) == (3, 2)
    client, controller = settings.broker_client_ports, settings.broker_controller_ports
    assert client == [client[0], client[0] + 1, client[0] + 2]
    assert not set(client) & set(controller)
    assert settings.bootstrap_servers == ",".join(f"127.0.0.1:{port}" for port in client)
    assert private_settings(tmp_path).topic_replication == 1


def test_free_ports_lie_below_the_kernels_ephemeral_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed service restarts on its ports: none of them may meanwhile become some connection's source port."""
    linux_default = tmp_path / "ip_local_port_range"
    linux_default.write_text("32768\t60999\n")
    monkeypatch.setattr("pipeline.proving.sandbox.EPHEMERAL_RANGE_FILE", linux_default)
    ports = [free_port() for _ in range(50)]
    first = free_ports_in_a_row(3)
    assert all(LOWEST_PORT <= port < 32768 for port in [*ports, first, first + 2])


def test_without_room_below_the_ephemeral_ports_the_kernel_picks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrow = tmp_path / "ip_local_port_range"
    narrow.write_text("10500\t60999\n")
    monkeypatch.setattr("pipeline.proving.sandbox.EPHEMERAL_RANGE_FILE", narrow)
    assert ephemeral_ports() == range(10500, 61000)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", free_port()))


def test_two_choices_never_give_the_same_port_though_nothing_listens_on_it_yet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A system's ports are all chosen before any of them is listened on: the same random pick twice is refused."""
    picks = iter([5, 5, 5, 7])
    monkeypatch.setattr("pipeline.proving.sandbox.secrets.randbelow", lambda _n: next(picks))
    monkeypatch.setattr("pipeline.proving.sandbox._CHOSEN", deque(maxlen=1024))
    first, second = free_port(), free_port()
    assert (first, second) == (LOWEST_PORT + 5, LOWEST_PORT + 7)

