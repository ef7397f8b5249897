"""The enrollment desk of central: idempotent by request_id, deduplicating against the people on file.

`enroll` is synchronous on purpose: with no await between looking up a request_id, deciding and
recording, two copies of one request arriving together cannot both be decided.

The gallery (who is "already known to central"): every NIK central has seen, with the finger digests of
its first record; a later record of the same NIK (a replacement card) never replaces them and never
matches them, since only digests held by a *different* NIK count. A record refused as
`ENROLL_FAILURE_AT_CENTRAL` is not kept (central deletes it and asks for a re-recording), so that NIK's
next record is the one put on file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from central_sim.decisions import count_shared_fingers, decide_enrollment, finger_digests, joins_gallery
from central_sim.errors import RequestConflict
from central_sim.signing import DecisionClaims, SigningKey, SubjectKind, nik_subject
from central_sim.store import CentralStore, StoredDecision
from central_sim.wire import EnrollmentRequest
from events.masking import mask_nik

log = structlog.get_logger("central_sim.registry")


def utc_now() -> dt.datetime:
    """Now, time-zone aware."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Enrolled:
    """The outcome of one enrollment call: the decision, and whether it was made by an earlier call."""

    decision: StoredDecision
    replayed: bool


class Registry:
    """Decides enrollments, signs the decisions and remembers both."""

    def __init__(
        self, store: CentralStore, signing_key: SigningKey, issuer: str, clock: Callable[[], dt.datetime] = utc_now
    ) -> None:
        self._store = store
        self._signing_key = signing_key
        self._issuer = issuer
        self._clock = clock
        self.people = store.count_people()
        self.decisions_by_kind = store.count_decisions()

    def enroll(self, request: EnrollmentRequest) -> Enrolled:
        """Central's decision on `request`; the recorded one when its request_id was seen before.

        Raises `RequestConflict` when the request_id was seen with a different body.
        """
        known = self._store.find_decision(request.request_id)
        if known is not None:
            if known.body_digest != request.body_digest:
                raise RequestConflict(request.request_id)
            return Enrolled(known, replayed=True)
        with self._store.transaction():
            decision = self._decide(request)
        self.decisions_by_kind[decision.decision] = self.decisions_by_kind.get(decision.decision, 0) + 1
        log.debug(
            "enrollment decided", request_id=request.request_id, decision=decision.decision,
            nik_masked=mask_nik(request.submission.resident.nik), office_code=request.submission.office_code,
        )
        return Enrolled(decision, replayed=False)

    def _decide(self, request: EnrollmentRequest) -> StoredDecision:
        submission = request.submission
        person_id = self._store.person_id(submission.resident.nik)
        fingerprints = submission.biometrics.fingerprints
        digests = finger_digests(fingerprints)
        held_by_others = self._store.digests_held_by_others(digests, person_id)
        verdict = decide_enrollment(count_shared_fingers(fingerprints, held_by_others), submission.biometrics.quality)
        decided_at = self._clock().astimezone(dt.UTC)
        subject, subject_kind = self._subject(request)
        claims = DecisionClaims(
            issuer=self._issuer,
            subject=subject,
            subject_kind=subject_kind,
            request_id=request.request_id,
            decision=verdict.decision.value,
            decided_at=decided_at.isoformat(timespec="milliseconds"),
            issued_at=int(decided_at.timestamp()),
        )
        decision = StoredDecision(
            request_id=request.request_id,
            body_digest=request.body_digest,
            person_id=person_id,
            decision=verdict.decision.value,
            reason=verdict.reason,
            decided_at=claims.decided_at,
            token=self._signing_key.sign(claims),
        )
        self._store.save_decision(decision)
        if joins_gallery(verdict.decision) and self._store.file_person(
            person_id, request.request_id, digests, claims.decided_at
        ):
            self.people += 1
        return decision

    @staticmethod
    def _subject(request: EnrollmentRequest) -> tuple[str, SubjectKind]:
        if request.citizen_key is not None:
            return request.citizen_key, "citizen_key"
        return nik_subject(request.submission.resident.nik), "nik_sha256"
