"""The station's Prometheus metrics, in a registry of its own. Labels: the station id and codes, never a NIK."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from pipeline.station.errors import StationError
from pipeline.station.recovery import JobState


class StationMetrics:
    """Counters of what this process did; gauges of what the journal holds (refreshed after each step)."""

    def __init__(self, station_id: str, registry: CollectorRegistry | None = None) -> None:
        self.station_id = station_id
        self.registry = registry or CollectorRegistry()
        labels = ["station"]
        self._printed = Counter("ektp_station_cards_printed", "Cards printed", labels, registry=self.registry)
        self._misprints = Counter("ektp_station_misprints", "Blanks spoiled by a misprint", labels,
                                  registry=self.registry)
        self._refused = Counter("ektp_station_jobs_refused", "Jobs refused: the approval did not verify",
                                ["station", "reason"], registry=self.registry)
        self._skipped = Counter("ektp_station_jobs_skipped", "Jobs not for this station, or unreadable",
                                ["station", "reason"], registry=self.registry)
        self._blank_stock = Gauge("ektp_station_blank_stock", "Blank cards in the station", labels,
                                  registry=self.registry)
        self._waiting = Gauge("ektp_station_jobs_waiting", "Jobs waiting for blank cards", labels,
                              registry=self.registry)
        self._journal = Gauge("ektp_station_journal_jobs", "Jobs in the journal, by state", ["station", "state"],
                              registry=self.registry)
        self._server: WSGIServer | None = None

    def cards_printed(self, count: int) -> None:
        self._printed.labels(self.station_id).inc(count)

    def misprint(self) -> None:
        self._misprints.labels(self.station_id).inc()

    def refused(self, reason: str) -> None:
        self._refused.labels(self.station_id, reason).inc()

    def skipped(self, reason: str) -> None:
        self._skipped.labels(self.station_id, reason).inc()

    def observe_journal(self, counts: dict[JobState, int], blank_stock: int) -> None:
        """Set the gauges from the journal's figures."""
        self._blank_stock.labels(self.station_id).set(blank_stock)
        self._waiting.labels(self.station_id).set(counts.get(JobState.WAITING, 0))
        for state in JobState:
            self._journal.labels(self.station_id, state.value).set(counts.get(state, 0))

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent): for tests and the ready line."""
        found = self.registry.get_sample_value(name, {"station": self.station_id, **labels})
        return found or 0.0

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics on host:port in a background thread (port 0: not at all)."""
        if not port:
            return
        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as error:
            raise StationError(f"cannot serve /metrics on {host}:{port} ({error}); choose --metrics-port") from error

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
