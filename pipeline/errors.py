"""The pipeline's own exception types; every one derives from `EktpError`."""

from __future__ import annotations


class EktpError(Exception):
    """Base of every error this project raises on purpose."""


class PrerequisiteMissing(EktpError):
    """A tool the project needs on this machine (Java, Maven) is not there."""


class BrokerError(EktpError):
    """The Kafka broker could not be fetched, started or stopped."""
