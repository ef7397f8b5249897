"""Central's approval token, verified as any vendor's station would: a JWS checked against the JWK Set.

The token is a compact JWS, alg EdDSA (Ed25519), with a `kid`; its payload binds `request_id`, `sub`
(the citizen key), `decision` and `decided_at`. A job prints only when the signature verifies with one of
central's keys AND the payload is about this job: same request, same person, PRINT_READY_RECORD.

Central's JWK Set is cached (and kept in the journal, so that a station restarted while central is down
still verifies with the keys it knew); an unknown kid makes it fetch the set again, at most once per
`refresh_interval`. When the set cannot be fetched and the kid is not known, verification fails closed
with `JwksUnavailable`: the job waits and is tried again, and is never printed unverified.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError, SecurityWarning
from joserfc.jwk import OKPKey
from joserfc.jws import CompactSignature

from events.approval import CentralDecision
from events.printing import PrintRequested
from pipeline.logs import get_logger
from pipeline.station.errors import JwksUnavailable

log = get_logger(__name__)

# The contract fixes `EdDSA`; RFC 9864's fully specified `Ed25519` names the same signature.
ALGORITHMS = ("EdDSA", "Ed25519")


class RefusalReason(StrEnum):
    """Why a job's approval did not verify (a metric label: a short, fixed set)."""

    MISSING_TOKEN = "missing_token"  # noqa: S105 (a reason code, not a secret)
    MALFORMED_TOKEN = "malformed_token"  # noqa: S105 (a reason code, not a secret)
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    REQUEST_MISMATCH = "request_mismatch"
    SUBJECT_MISMATCH = "subject_mismatch"
    NOT_PRINT_READY = "not_print_ready"


@dataclass(frozen=True)
class Verified:
    """Central signed this job's print-ready decision with key `kid`."""

    kid: str


@dataclass(frozen=True)
class Refused:
    """The approval does not verify: the job must never be printed."""

    reason: RefusalReason
    kid: str | None
    detail: str


Verdict = Verified | Refused


def _public_ed25519_keys(jwks: dict[str, Any]) -> dict[str, OKPKey]:
    """The Ed25519 signing keys of a JWK Set by kid; any other key is ignored (it could not sign EdDSA)."""
    keys: dict[str, OKPKey] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("use", "sig") != "sig" or not isinstance(jwk.get("kid"), str) or "d" in jwk:
            continue
        try:
            keys[jwk["kid"]] = OKPKey.import_key(jwk)
        except (JoseError, ValueError) as error:
            log.warning("central's JWK Set holds a key that does not import", kid=jwk["kid"], error=str(error))
    return keys


class JwksCache:
    """Central's public keys, fetched on first need and again on an unknown kid."""

    def __init__(
        self, url: str, *, timeout: float = 5.0, refresh_interval: float = 1.0, max_age: float = 3600.0,
        known: dict[str, Any] | None = None, on_fetched: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.refresh_interval = refresh_interval
        self.max_age = max_age
        self.fetches = 0
        self._on_fetched = on_fetched
        self._keys = _public_ed25519_keys(known) if known else {}
        self._fetched_at: float | None = None  # a set from the journal counts as old: refresh on first need
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def key_for(self, kid: str) -> OKPKey | None:
        """Central's key `kid`; None when central does not have it (after one refresh).

        Raises `JwksUnavailable` when the key is not known and the set cannot be fetched.
        """
        stale = self._fetched_at is None or time.monotonic() - self._fetched_at > self.max_age
        if (kid not in self._keys or stale) and self._may_refresh():
            try:
                await self._refresh()
            except JwksUnavailable:
                if kid not in self._keys:
                    raise
                # A key we knew still verifies: central being down must not stop printing.
                log.warning("central's JWK Set could not be refreshed; using the keys known", url=self.url)
        return self._keys.get(kid)

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at >= self.refresh_interval

    async def _refresh(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self.fetches += 1
        try:
            async with self._session.get(self.url) as response:
                if response.status != 200:
                    raise JwksUnavailable(f"GET {self.url}: HTTP {response.status}")
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise JwksUnavailable(f"GET {self.url}: {type(error).__name__}: {error}") from error
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise JwksUnavailable(f"GET {self.url}: not a JWK Set")
        self._keys = _public_ed25519_keys(document)
        self._fetched_at = time.monotonic()
        if self._on_fetched is not None:
            self._on_fetched(document)


class ApprovalVerifier:
    """Checks a print job's approval token against central's keys and against the job itself."""

    def __init__(self, jwks: JwksCache) -> None:
        self.jwks = jwks

    async def verify(self, job: PrintRequested) -> Verdict:
        """Verified, or Refused with the reason; raises `JwksUnavailable` when it cannot tell yet."""
        token = (job.approval_token or "").strip()
        read = _read_token(token)
        if isinstance(read, Refused):
            return read
        signed, algorithm, kid = read
        key = await self.jwks.key_for(kid)
        if key is None:
            return Refused(RefusalReason.UNKNOWN_KEY, kid, "central has no key with this kid")
        try:
            with warnings.catch_warnings():
                # joserfc flags `EdDSA` as deprecated by RFC 9864; the contract fixes that name on purpose.
                warnings.simplefilter("ignore", SecurityWarning)
                signature_verifies = jws.validate_compact(signed, key, algorithms=[algorithm])
        except BadSignatureError:
            signature_verifies = False
        except (JoseError, ValueError) as error:
            return Refused(RefusalReason.MALFORMED_TOKEN, kid, f"the token does not decode: {error}")
        if not signature_verifies:
            return Refused(RefusalReason.BAD_SIGNATURE, kid, "the signature does not verify")
        return self._check_claims(job, kid, signed.payload)

    @staticmethod
    def _check_claims(job: PrintRequested, kid: str, payload: bytes) -> Verdict:
        try:
            claims = json.loads(payload)
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            return Refused(RefusalReason.MALFORMED_TOKEN, kid, "the payload is not a JSON object")
        if claims.get("request_id") != job.request_id:
            return Refused(RefusalReason.REQUEST_MISMATCH, kid, "the approval is for another request")
        if not _subject_matches(claims, job):
            return Refused(RefusalReason.SUBJECT_MISMATCH, kid, "the approval is for another person")
        if claims.get("decision") != CentralDecision.PRINT_READY_RECORD.value:
            return Refused(RefusalReason.NOT_PRINT_READY, kid, f"central decided {claims.get('decision')!r}")
        return Verified(kid)


def _read_token(token: str) -> tuple[CompactSignature, str, str] | Refused:
    """The token parsed, with its alg and kid, read before any key is chosen; or why it cannot be verified at all."""
    if not token:
        return Refused(RefusalReason.MISSING_TOKEN, None, "the job carries no approval token")
    try:
        signed = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, UnicodeError) as error:
        return Refused(RefusalReason.MALFORMED_TOKEN, None, f"not a compact JWS: {error}")
    header = signed.protected
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        return Refused(RefusalReason.UNSUPPORTED_ALGORITHM, kid, f"alg {algorithm!r} is not EdDSA")
    if kid is None:
        return Refused(RefusalReason.UNKNOWN_KEY, None, "the token names no kid")
    return signed, str(algorithm), kid


def _subject_matches(claims: dict[str, Any], job: PrintRequested) -> bool:
    """`sub` is the job's citizen key; central_sim may instead bind the SHA-256 of the NIK (`sub_kind`)."""
    subject = claims.get("sub")
    if subject == job.citizen_key:
        return True
    nik_digest = hashlib.sha256(job.card.nik.encode()).hexdigest()
    return claims.get("sub_kind") == "nik_sha256" and subject == nik_digest
