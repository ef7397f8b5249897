"""The link to the central server: a resilient HTTP client and its circuit breaker."""

from pipeline.central.breaker import BreakerState, CircuitBreaker
from pipeline.central.client import CentralClient, CentralResponse
from pipeline.central.errors import CentralError, CentralRejected, CentralUnavailable, CircuitOpen

__all__ = [
    "BreakerState",
    "CentralClient",
    "CentralError",
    "CentralRejected",
    "CentralResponse",
    "CentralUnavailable",
    "CircuitBreaker",
    "CircuitOpen",
]
