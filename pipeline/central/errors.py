"""What can go wrong on the link to central, as types the approval step routes differently.

Transient (`CentralUnavailable`: refused, timeout, 5xx, 429, an open breaker): the request is fine, the
link is not; the record waits in the dead-letter stream. Permanent (`CentralRejected`: a 4xx): the request
itself is wrong; retrying cannot help.
"""

from __future__ import annotations

from events.approval import FailureReason
from pipeline.errors import EktpError


class CentralError(EktpError):
    """Base of the central link's errors."""


class CentralUnavailable(CentralError):
    """Central could not answer now; the same request may succeed later."""

    def __init__(
        self, reason: FailureReason, detail: str, *, attempts: int = 1, status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"central unavailable ({reason}): {detail}")
        self.reason: FailureReason = reason
        self.detail = detail
        self.attempts = attempts
        self.status = status
        self.retry_after = retry_after


class CircuitOpen(CentralUnavailable):
    """The breaker is open: central failed repeatedly, so no call is tried until the cool-down ends."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(FailureReason.CIRCUIT_OPEN, f"breaker open; next probe in {retry_in:.1f}s", attempts=0,
                         retry_after=retry_in)


class CentralRejected(CentralError):
    """Central refused the request itself (4xx): a permanent answer, never retried."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"central rejected the request ({status} {code}): {detail}")
        self.status = status
        self.code = code
        self.detail = detail
