"""What travels over central's HTTP API: the enrollment request as central reads it, and its answers.

The body is the submission contract (`events.enrollment.EnrollmentSubmission`) plus any extra top-level
fields: the pipeline adds `citizen_key` (64 lowercase hex), which central binds into the token; other
extras are ignored and play no part in the idempotency check. Inside the contract's objects nothing
extra is allowed, exactly as for a recording desk.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from central_sim.errors import InvalidEnrollment
from central_sim.store import StoredDecision
from events.enrollment import EnrollmentSubmission

CONTRACT_FIELDS = frozenset(EnrollmentSubmission.model_fields)
_CITIZEN_KEY = re.compile(r"^[0-9a-f]{64}$")
_NIK = re.compile(r"^[0-9]{16}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass(frozen=True)
class EnrollmentRequest:
    """One enrollment as central reads it."""

    submission: EnrollmentSubmission
    citizen_key: str | None
    body_digest: str  # SHA-256 of the canonical contract fields + citizen_key: "the same body"

    @property
    def request_id(self) -> str:
        return self.submission.request_id


def parse_json(body: bytes) -> object:
    """The JSON document of a request body; 400 `malformed_json` when it is not JSON."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEnrollment(400, "malformed_json", f"the body is not JSON: {error}") from None


def request_id_of(document: object) -> str | None:
    """The document's request_id when it has a well-formed one, for error answers."""
    if isinstance(document, dict):
        candidate = document.get("request_id")
        if isinstance(candidate, str) and _REQUEST_ID.match(candidate):
            return candidate
    return None


def parse_enrollment(document: object) -> EnrollmentRequest:
    """Read one enrollment; 422 `invalid_enrollment` (with pydantic's errors, no input values) if wrong."""
    request_id = request_id_of(document)
    if not isinstance(document, dict):
        raise InvalidEnrollment(422, "invalid_enrollment", "an enrollment is a JSON object", request_id)
    citizen_key = document.get("citizen_key")
    if citizen_key is not None and not (isinstance(citizen_key, str) and _CITIZEN_KEY.match(citizen_key)):
        raise InvalidEnrollment(
            422, "invalid_enrollment", [{"loc": ["citizen_key"], "msg": "must be 64 lowercase hex"}], request_id
        )
    contract = {name: value for name, value in document.items() if name in CONTRACT_FIELDS}
    try:
        submission = EnrollmentSubmission.model_validate(contract)
    except ValidationError as error:
        # Never echo input values: they may hold a NIK or biometric digests.
        detail = error.errors(include_url=False, include_input=False, include_context=False)
        raise InvalidEnrollment(422, "invalid_enrollment", detail, request_id) from None
    if not _NIK.match(submission.resident.nik):
        raise InvalidEnrollment(
            422, "invalid_enrollment", [{"loc": ["resident", "nik"], "msg": "a NIK is 16 digits"}], request_id
        )
    canonical = json.dumps(
        {"submission": submission.model_dump(mode="json"), "citizen_key": citizen_key},
        sort_keys=True, separators=(",", ":"),
    )
    return EnrollmentRequest(submission, citizen_key, hashlib.sha256(canonical.encode()).hexdigest())


def decision_answer(decision: StoredDecision) -> dict[str, str]:
    """The 200 answer to an enrollment: the same, byte for byte, for every repeat of its request_id."""
    return {
        "request_id": decision.request_id,
        "decision": decision.decision,
        "reason": decision.reason,
        "decided_at": decision.decided_at,
        "token": decision.token,
    }


def error_answer(code: str, detail: Any, request_id: str | None = None) -> dict[str, Any]:
    """Every error answer: `{"error": code, "detail": ...}`, plus the request_id when it is known."""
    answer: dict[str, Any] = {"error": code, "detail": detail}
    if request_id is not None:
        answer["request_id"] = request_id
    return answer
