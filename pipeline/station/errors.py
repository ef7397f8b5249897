"""The printing station's own exception types."""

from __future__ import annotations

from pipeline.errors import EktpError


class StationError(EktpError):
    """The station cannot run as configured (bad station id, already running, unreadable journal)."""


class JwksUnavailable(StationError):
    """Central's JWK Set could not be fetched: jobs wait and are verified later, never printed unverified."""


class StationAlreadyRunning(StationError):
    """Another process holds this station's journal."""
