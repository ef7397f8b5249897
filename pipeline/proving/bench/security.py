"""What the broker's security costs: SCRAM, and TLS besides, beside a listener with neither, from one run.

The project's broker asks every client for SASL/SCRAM-SHA-512 (and TLS off the loopback), so it has no listener to
compare with. This phase starts a comparison broker of its own (`ComparisonBroker`): one node on free loopback ports,
a temporary folder, a small heap, and three client listeners:

| mode | listener | protocol |
| --- | --- | --- |
| `plaintext` | OPEN | PLAINTEXT: neither authentication nor encryption (loopback only, `extra_listeners`) |
| `scram` | CLIENT | SASL_PLAINTEXT with SCRAM-SHA-512, as the project's broker on the loopback |
| `scram_tls` | SECURE | SASL_SSL with SCRAM-SHA-512, as the project's broker off the loopback |

It holds only the bench's synthetic payloads, and it is stopped and its folder removed at the end, whatever happens.
The SCRAM modes connect as `admin`, as the bench's baseline relay does; OPEN's anonymous principal is granted read,
write and describe on the relay's topics alone (`bench.relay.*`), since the broker's authorizer refuses whatever no
ACL allows (a look-up per request, not per record, that `admin`, a super user, skips: it is left in plaintext's
figures, which it can only lower).

For each mode, with the same payloads (`ektp bench` relays `RECORDS` of its measured payloads, taken again from
the first when it measured fewer, so that the figures compare from run to run):

- `relay_rps`: the baseline relay (`relay.py`: `PIPELINE_HOPS` consume→produce hops, `acks=all`, idempotent) through
  that listener, after a short warm-up of each; in `ROUNDS` of one relay per mode, each round starting with the
  next mode; all runs of a mode count (records over seconds);
- `connect_ms_p50`, `connect_ms_p95`: a fresh `AIOKafkaProducer`'s `start()` and `stop()` (bootstrap, SASL handshake,
  TLS handshake), `CONNECTS` times, the modes taking turns;
- `client_cpu_ms_per_1000`: this process's CPU time (`time.process_time`) over the relay, per 1000 records: the
  clients' share of the cost (SCRAM costs them nothing per record; TLS encrypts and decrypts each byte).

`scram_relay_cost` and `tls_relay_cost` are the relay throughput of scram and scram_tls divided by plaintext's in the
same round, the median over the rounds: the machine's speed may change between rounds (a 2-core virtual machine
does), hardly within one. 1.0 costs nothing, 0.8 is a fifth slower.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import ssl
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer

from pipeline.broker import BrokerLauncher
from pipeline.broker.authorization import create_acls
from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.security import SCRAM_MECHANISM, client_options, ssl_context
from pipeline.proving.bench.latency import percentile
from pipeline.proving.bench.relay import PIPELINE_HOPS, RELAY_ROLE, RELAY_TOPIC_PREFIX, RelayBench, bench_relay
from pipeline.proving.sandbox import free_port, private_settings
from pipeline.topology.acls import Acl

Payloads = Sequence[tuple[bytes | None, bytes]]  # (key, value) of each record

MODES = ("plaintext", "scram", "scram_tls")
LISTENERS = {"plaintext": "OPEN", "scram": "CLIENT", "scram_tls": "SECURE"}
PROTOCOLS = {"plaintext": "PLAINTEXT", "scram": f"SASL_PLAINTEXT/{SCRAM_MECHANISM}",
             "scram_tls": f"SASL_SSL/{SCRAM_MECHANISM}"}
LABELS = {"plaintext": "plaintext", "scram": "SCRAM", "scram_tls": "SCRAM+TLS"}
# Rounds of one relay per mode, each round starting with the next mode: a mode is compared with plaintext within a
# round, so a change of the machine's speed between rounds (a step, not only a drift) biases no ratio.
ROUNDS = tuple(tuple(MODES[(start + step) % len(MODES)] for step in range(len(MODES))) for start in range(len(MODES)))
ORDER = tuple(mode for round_ in ROUNDS for mode in round_)
RECORDS = 5000  # records in each relay of `ektp bench`'s phase, whatever its --count: comparable from run to run
WARM_UP = 1000  # payloads relayed once in each mode before the clock starts: connections, the broker's JIT
CONNECTS = 20  # producers started and stopped per mode
HEAP = "384m"
RELAY_TIMEOUT = 300.0
ANONYMOUS = "User:ANONYMOUS"  # who a client of a PLAINTEXT listener is to the broker's authorizer


@dataclass(frozen=True)
class ModeBench:
    """One mode's relays (in the order they ran) and connection times (seconds)."""

    relays: tuple[RelayBench, ...]
    connects: tuple[float, ...]

    @property
    def records(self) -> int:
        return sum(relay.count for relay in self.relays)

    @property
    def relay_rps(self) -> float:
        seconds = sum(relay.seconds for relay in self.relays)
        return self.records / seconds if seconds else 0.0

    @property
    def client_cpu_ms_per_1000(self) -> float:
        cpu_ms = sum(relay.cpu_seconds for relay in self.relays) * 1000
        return cpu_ms / (self.records / 1000) if self.records else 0.0

    def connect_ms(self, rank: float) -> float:
        return percentile(sorted(self.connects), rank) * 1000

    def as_json(self) -> dict[str, Any]:
        return {
            "relay_rps": round(self.relay_rps, 1),
            "connect_ms_p50": round(self.connect_ms(50), 2),
            "connect_ms_p95": round(self.connect_ms(95), 2),
            "client_cpu_ms_per_1000": round(self.client_cpu_ms_per_1000, 1),
            "relay_rps_runs": [round(relay.records_per_second, 1) for relay in self.relays],
            "records": self.records,
        }


@dataclass(frozen=True)
class SecurityBench:
    """The three modes' figures (`MODES`), and how they were measured."""

    modes: Mapping[str, ModeBench]
    hops: int = PIPELINE_HOPS
    order: tuple[str, ...] = ORDER

    def relay_cost(self, mode: str) -> float:
        """`mode`'s relay throughput as a share of plaintext's in the same round, the median over the rounds
        (0.0 when plaintext relayed nothing)."""
        ratios = [
            secure.records_per_second / plain.records_per_second
            for secure, plain in zip(self.modes[mode].relays, self.modes["plaintext"].relays, strict=False)
            if plain.records_per_second
        ]
        return statistics.median(ratios) if ratios else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **{mode: self.modes[mode].as_json() for mode in MODES},
            "scram_relay_cost": round(self.relay_cost("scram"), 3),
            "tls_relay_cost": round(self.relay_cost("scram_tls"), 3),
            "protocols": dict(PROTOCOLS),
            "hops": self.hops,
            "order": list(self.order),
            "connects": min((len(self.modes[mode].connects) for mode in MODES), default=0),
        }

    def summary(self) -> str:
        """One line for the bench's progress."""
        modes = [self.modes[mode] for mode in MODES]
        return (", ".join(f"{LABELS[mode]} {self.modes[mode].relay_rps:.0f}/s" for mode in MODES)
                + "; connect " + "/".join(f"{mode.connect_ms(50):.0f}" for mode in modes) + " ms"
                + "; client CPU " + "/".join(f"{mode.client_cpu_ms_per_1000:.0f}" for mode in modes)
                + " ms per 1000 records")


class ComparisonBroker:
    """`async with ComparisonBroker(settings) as broker:` a running comparison broker with the three listeners.

    It takes from `settings` only the broker's jars and the partition count; everything else is its own: free
    loopback ports, a temporary folder for its data, credentials and certificates. `options(mode)` are an aiokafka
    client's connection arguments for a mode's listener. Leaving the block stops it and removes the folder.
    """

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ektp-security-"))
        run = self.folder / "run"
        self.settings = private_settings(
            run, kafka_host="127.0.0.1", kafka_bootstrap=None, kafka_tls=False, broker_heap=HEAP,
            topic_partitions=settings.topic_partitions, broker_libs_dir=settings.broker_libs_path,
            broker_data_dir=run / "kafka", credentials_dir=run / "credentials", tls_dir=run / "tls",
        )
        taken = {self.settings.kafka_port, self.settings.broker_controller_port}
        self.ports = {"CLIENT": self.settings.kafka_port}
        for name in ("OPEN", "SECURE"):
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self.ports[name] = port
        self.launcher = BrokerLauncher(self.settings, extra_listeners={
            "OPEN": (self.ports["OPEN"], "PLAINTEXT"), "SECURE": (self.ports["SECURE"], "SASL_SSL"),
        })
        self._tls: ssl.SSLContext | None = None

    def bootstrap(self, mode: str) -> str:
        return f"{self.settings.kafka_host}:{self.ports[LISTENERS[mode]]}"

    def options(self, mode: str) -> dict[str, Any]:
        """An aiokafka client's arguments for `mode`'s listener: no credentials on OPEN, `admin`'s on the others."""
        if mode == "plaintext":
            return {"bootstrap_servers": self.bootstrap(mode), "security_protocol": "PLAINTEXT"}
        options = client_options(self.settings, RELAY_ROLE, bootstrap_servers=self.bootstrap(mode))
        if mode == "scram_tls":
            if self._tls is None:
                self._tls = ssl_context(self.settings)  # the broker made its CA when it started
            options |= {"security_protocol": "SASL_SSL", "ssl_context": self._tls}
        return options

    async def __aenter__(self) -> ComparisonBroker:
        starting = asyncio.ensure_future(asyncio.to_thread(self.launcher.start))
        try:
            await asyncio.shield(starting)
            await _open_relay_topics_to_anonymous(self.settings)
        except BaseException:
            # A start cut short (Ctrl-C) goes on in its thread: let it end, so that no node starts after the stop.
            await asyncio.wait([starting])
            if not starting.cancelled():
                starting.exception()  # retrieved: it is the error being raised, or none
            await asyncio.to_thread(self.close)
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop the broker and remove its folder."""
        try:
            self.launcher.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def records_of(payloads: Payloads, count: int = RECORDS) -> list[tuple[bytes | None, bytes]]:
    """`count` records from `payloads`, taken in order and again from the first when they run out."""
    return list(itertools.islice(itertools.cycle(payloads), count)) if payloads else []


async def bench_security(settings: Settings, payloads: Payloads) -> SecurityBench:
    """Start a comparison broker beside `settings`' (its jars, its partitions), measure the three modes with
    `payloads` (key, value), stop it."""
    async with ComparisonBroker(settings) as broker:
        return await measure_security(broker, payloads)


async def measure_security(broker: ComparisonBroker, payloads: Payloads) -> SecurityBench:
    """The three modes' relays and connection times on a running comparison broker (see the module)."""
    if not payloads:
        raise EktpError("the security bench needs at least one payload")
    for mode in MODES:  # warm-up: not measured
        await bench_relay(broker.settings, payloads[:WARM_UP], options=broker.options(mode), timeout=RELAY_TIMEOUT)
    relays: dict[str, list[RelayBench]] = {mode: [] for mode in MODES}
    for mode in ORDER:
        relays[mode].append(await bench_relay(broker.settings, payloads, options=broker.options(mode),
                                              timeout=RELAY_TIMEOUT))
    connects: dict[str, list[float]] = {mode: [] for mode in MODES}
    for turn in range(CONNECTS + 1):  # the first turn warms up; each turn starts with the next mode
        for step in range(len(MODES)):
            mode = MODES[(turn + step) % len(MODES)]
            seconds = await connect_seconds(broker.options(mode))
            if turn:
                connects[mode].append(seconds)
    return SecurityBench({mode: ModeBench(tuple(relays[mode]), tuple(connects[mode])) for mode in MODES})


async def connect_seconds(options: Mapping[str, Any]) -> float:
    """How long a fresh producer with `options` takes to start (bootstrap, handshakes) and stop."""
    producer = AIOKafkaProducer(**options, client_id="bench-security-connect")
    began = time.perf_counter()
    try:
        await producer.start()
    finally:
        await producer.stop()
    return time.perf_counter() - began


async def _open_relay_topics_to_anonymous(settings: Settings) -> None:
    """Let OPEN's anonymous clients read, write and describe the relay's topics, and nothing else."""
    await create_acls(settings, [Acl(ANONYMOUS, "TOPIC", "PREFIXED", RELAY_TOPIC_PREFIX, operation)
                                 for operation in ("READ", "WRITE", "DESCRIBE")])

