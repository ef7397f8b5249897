"""Verifying central's approval token against its JWK Set, served by a local server."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator

import pytest
from joserfc.jwk import OKPKey

from events.printing import PrintRequested
from pipeline.station.errors import JwksUnavailable
from pipeline.station.verify import ApprovalVerifier, JwksCache, RefusalReason, Refused, Verified
from tests.unit.pipeline.station.fakes import JwksServer, central_key, claims_for, print_job, sign, signed, unsigned_job


@pytest.fixture
async def verifier(jwks_server: JwksServer) -> AsyncIterator[ApprovalVerifier]:
    """A verifier that may refresh the JWK Set at once (no pause between fetches)."""
    cache = JwksCache(jwks_server.jwks_url, refresh_interval=0.0)
    try:
        yield ApprovalVerifier(cache)
    finally:
        await cache.close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_token(job: PrintRequested, token: str) -> PrintRequested:
    return job.model_copy(update={"approval_token": token})


def refusal(verdict: object) -> RefusalReason:
    assert isinstance(verdict, Refused), verdict
    return verdict.reason


async def test_a_token_central_signed_for_this_job_is_accepted(
    verifier: ApprovalVerifier, signing_key: OKPKey
) -> None:
    """Central's signature over this request, this person and PRINT_READY_RECORD verifies."""
    assert await verifier.verify(print_job(signing_key)) == Verified("central-key-1")


async def test_a_tampered_payload_is_refused(verifier: ApprovalVerifier, signing_key: OKPKey) -> None:
    """Changing the signed payload (another request id) breaks the signature."""
    job = print_job(signing_key)
    header, _payload, signature = job.approval_token.split(".")
    other = b64(json.dumps(claims_for(job, request_id="someone-else")).encode())
    tampered = f"{header}.{other}.{signature}"
    assert refusal(await verifier.verify(with_token(job, tampered))) is RefusalReason.BAD_SIGNATURE


async def test_a_token_forged_with_another_key_under_centrals_kid_is_refused(verifier: ApprovalVerifier) -> None:
    """A forger's own key, naming central's kid: the signature does not verify."""
    forger = central_key("central-key-1")
    assert refusal(await verifier.verify(print_job(forger))) is RefusalReason.BAD_SIGNATURE


async def test_an_unknown_kid_refreshes_the_jwks_once_then_is_refused(
    verifier: ApprovalVerifier, jwks_server: JwksServer, signing_key: OKPKey
) -> None:
    """A kid central does not have: one refresh of the set, then refused."""
    assert await verifier.verify(print_job(signing_key)) == Verified("central-key-1")
    fetched = jwks_server.fetches
    verdict = await verifier.verify(print_job(central_key("nobody-knows-me")))
    assert refusal(verdict) is RefusalReason.UNKNOWN_KEY
    assert jwks_server.fetches == fetched + 1


async def test_a_new_central_key_is_found_by_refreshing_on_its_kid(
    verifier: ApprovalVerifier, jwks_server: JwksServer, signing_key: OKPKey
) -> None:
    """Central rotated its key: the first token under the new kid makes the station fetch the set again."""
    assert await verifier.verify(print_job(signing_key)) == Verified("central-key-1")
    rotated = central_key("central-key-2")
    jwks_server.keys.append(rotated)
    assert await verifier.verify(print_job(rotated)) == Verified("central-key-2")


async def test_known_keys_are_not_fetched_again_for_every_job(
    verifier: ApprovalVerifier, jwks_server: JwksServer, signing_key: OKPKey
) -> None:
    """The set is cached: ten jobs, one fetch."""
    for _ in range(10):
        assert isinstance(await verifier.verify(print_job(signing_key)), Verified)
    assert jwks_server.fetches == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"request_id": "another-request"}, RefusalReason.REQUEST_MISMATCH),
        ({"sub": "0" * 64}, RefusalReason.SUBJECT_MISMATCH),
        ({"decision": "DUPLICATE_RECORD"}, RefusalReason.NOT_PRINT_READY),
    ],
)
async def test_a_genuine_token_for_something_else_is_refused(
    verifier: ApprovalVerifier, signing_key: OKPKey, overrides: dict[str, str], reason: RefusalReason
) -> None:
    """Central's real signature, but over another request, another person or another decision."""
    assert refusal(await verifier.verify(signed(unsigned_job(), signing_key, **overrides))) is reason


async def test_a_token_binding_the_nik_digest_as_subject_is_accepted(
    verifier: ApprovalVerifier, signing_key: OKPKey
) -> None:
    """central_sim's fallback subject (SHA-256 of the NIK, `sub_kind` nik_sha256) binds the same person."""
    job = unsigned_job()
    digest = hashlib.sha256(job.card.nik.encode()).hexdigest()
    assert isinstance(await verifier.verify(signed(job, signing_key, sub=digest, sub_kind="nik_sha256")), Verified)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", RefusalReason.MISSING_TOKEN),
        ("not-a-jws", RefusalReason.MALFORMED_TOKEN),
        ("a.b.c", RefusalReason.MALFORMED_TOKEN),
    ],
)
async def test_a_missing_or_garbled_token_is_refused(
    verifier: ApprovalVerifier, token: str, reason: RefusalReason
) -> None:
    """No token, or not a JWS at all."""
    assert refusal(await verifier.verify(with_token(unsigned_job(), token))) is reason


async def test_a_token_with_another_algorithm_is_refused(verifier: ApprovalVerifier) -> None:
    """An HMAC token (alg confusion: the public key as a shared secret) is refused before any key is used."""
    job = unsigned_job()
    payload = b64(json.dumps(claims_for(job)).encode())
    token = ".".join([b64(json.dumps({"alg": "HS256", "kid": "central-key-1"}).encode()), payload, "c2lnbmF0dXJl"])
    assert refusal(await verifier.verify(with_token(job, token))) is RefusalReason.UNSUPPORTED_ALGORITHM
    unsigned = ".".join([b64(json.dumps({"alg": "none"}).encode()), payload, ""])
    assert refusal(await verifier.verify(with_token(job, unsigned))) is RefusalReason.UNSUPPORTED_ALGORITHM


async def test_a_token_without_a_kid_is_refused(verifier: ApprovalVerifier, signing_key: OKPKey) -> None:
    """The contract's tokens name their key."""
    job = unsigned_job()
    assert refusal(await verifier.verify(with_token(job, sign(signing_key, claims_for(job), kid="")))) is (
        RefusalReason.UNKNOWN_KEY
    )


async def test_without_centrals_keys_verification_fails_closed(signing_key: OKPKey) -> None:
    """Central's JWK Set unreachable and no key known: the job cannot be verified (it waits), never passes."""
    cache = JwksCache("http://127.0.0.1:9/v1/jwks", timeout=1.0, refresh_interval=0.0)
    try:
        with pytest.raises(JwksUnavailable):
            await ApprovalVerifier(cache).verify(print_job(signing_key))
    finally:
        await cache.close()


async def test_a_failing_jwks_endpoint_fails_closed_too(jwks_server: JwksServer, signing_key: OKPKey) -> None:
    """HTTP 503 from central's JWK Set: the job waits."""
    jwks_server.failing = True
    cache = JwksCache(jwks_server.jwks_url, refresh_interval=0.0)
    try:
        with pytest.raises(JwksUnavailable):
            await ApprovalVerifier(cache).verify(print_job(signing_key))
    finally:
        await cache.close()


async def test_keys_kept_from_an_earlier_fetch_still_verify_while_central_is_down(signing_key: OKPKey) -> None:
    """A restarted station verifies with the keys its journal kept, central unreachable."""
    known = {"keys": [signing_key.as_dict(private=False)]}
    cache = JwksCache("http://127.0.0.1:9/v1/jwks", timeout=1.0, refresh_interval=0.0, known=known)
    try:
        assert await ApprovalVerifier(cache).verify(print_job(signing_key)) == Verified("central-key-1")
    finally:
        await cache.close()


async def test_a_fetched_jwks_is_handed_over_for_keeping(jwks_server: JwksServer, signing_key: OKPKey) -> None:
    """The set fetched is given to `on_fetched` (the journal keeps it)."""
    kept: list[dict[str, object]] = []
    cache = JwksCache(jwks_server.jwks_url, on_fetched=kept.append)
    try:
        await ApprovalVerifier(cache).verify(print_job(signing_key))
    finally:
        await cache.close()
    assert [key["kid"] for key in kept[0]["keys"]] == ["central-key-1"]  # type: ignore[attr-defined]
