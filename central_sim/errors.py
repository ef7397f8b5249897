"""central_sim's own exception types; every one derives from `CentralSimError`."""

from __future__ import annotations


class CentralSimError(Exception):
    """Base of every error central_sim raises on purpose."""


class StoreError(CentralSimError):
    """Central's sqlite store cannot be opened or used."""


class InvalidEnrollment(CentralSimError):
    """The request itself is wrong (not JSON, not the contract's shape): a permanent 400/422."""

    def __init__(self, status: int, code: str, detail: object, request_id: str | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id


class RequestConflict(CentralSimError):
    """A known request_id came back with a different body: a permanent 409."""

    code = "request_id_conflict"
    detail = "this request_id was already decided for a different body"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} was already decided with a different body")
        self.request_id = request_id
