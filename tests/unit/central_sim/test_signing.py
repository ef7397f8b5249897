"""Central's decision tokens verify with standard JOSE libraries, and any tampering is detected."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jws
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, OKPKey

from central_sim.signing import DecisionClaims, SigningKey, jwk_set, nik_subject

# joserfc warns that RFC 9864 deprecates the name `EdDSA`; the contract fixes that name.
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

CLAIMS = DecisionClaims(
    issuer="central-test",
    subject="ab" * 32,
    subject_kind="citizen_key",
    request_id="0b6f4c1e-8f0a-4d53-9a57-7c1f2b0e9d11",
    decision="PRINT_READY_RECORD",
    decided_at="2026-11-28T02:15:00.000+00:00",
    issued_at=1795833300,
)


def joserfc_keys(document: Any) -> KeySet:
    """joserfc's key set from a JWK Set document."""
    return KeySet.import_key_set(document)


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def replace_segment(token: str, index: int, document: dict[str, Any]) -> str:
    parts = token.split(".")
    parts[index] = base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()
    return ".".join(parts)


def test_token_verifies_with_joserfc_against_the_jwk_set() -> None:
    """joserfc verifies a decision token against central's JWK Set and reads every claim back."""
    key = SigningKey.generate()
    token = key.sign(CLAIMS)
    decoded = jose_jwt.decode(token, joserfc_keys(jwk_set([key])), algorithms=["EdDSA"])
    assert decoded.header == {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    assert decoded.claims == CLAIMS.as_payload()


def test_token_verifies_with_pyjwt_against_the_jwk_set() -> None:
    """PyJWT, a second and independent library, verifies the same token from the same JWK Set."""
    key = SigningKey.generate()
    token = key.sign(CLAIMS)
    jwks = pyjwt.PyJWKSet.from_dict(jwk_set([key]))
    claims = pyjwt.decode(
        token, jwks[pyjwt.get_unverified_header(token)["kid"]], algorithms=["EdDSA"], issuer="central-test",
        options={"require": ["iss", "sub", "iat"]},
    )
    assert claims["request_id"] == CLAIMS.request_id
    assert claims["decision"] == "PRINT_READY_RECORD"


def test_kid_is_the_rfc7638_thumbprint() -> None:
    """The kid is the key's JWK thumbprint, as joserfc computes it."""
    key = SigningKey.generate()
    jwk = key.public_jwk()
    assert OKPKey.import_key(jwk).thumbprint() == key.kid
    assert {jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"]} == {"OKP", "Ed25519", "sig", "EdDSA"}
    assert "d" not in jwk


def test_key_survives_a_pem_round_trip() -> None:
    """A key stored as PEM and loaded again signs as the same key (same kid)."""
    key = SigningKey.generate()
    again = SigningKey.from_pem(key.to_pem())
    assert again.kid == key.kid
    jws.deserialize_compact(again.sign(CLAIMS), OKPKey.import_key(key.public_jwk()), algorithms=["EdDSA"])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: replace_segment(t, 1, {**segment(t, 1), "decision": "DUPLICATE_RECORD"}), id="payload"),
        pytest.param(lambda t: replace_segment(t, 0, {**segment(t, 0), "kid": "other"}), id="header"),
        pytest.param(lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), id="signature"),
    ],
)
def test_tampered_token_fails_verification(tamper: Any) -> None:
    """Changing the payload, the header or the signature makes both libraries refuse the token."""
    key = SigningKey.generate()
    forged = tamper(key.sign(CLAIMS))
    public = OKPKey.import_key(key.public_jwk())
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(forged, public, algorithms=["EdDSA"])
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(forged, pyjwt.PyJWK(key.public_jwk()), algorithms=["EdDSA"], options={"verify_iss": False})


def test_token_from_another_key_fails_verification() -> None:
    """A token signed by any key but central's is refused against central's JWK Set."""
    central, impostor = SigningKey.generate(), SigningKey.generate()
    forged = impostor.sign(CLAIMS)
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(forged, OKPKey.import_key(central.public_jwk()), algorithms=["EdDSA"])


def test_nik_subject_is_the_sha256_hex_of_the_nik() -> None:
    """Without a citizen key the subject is the plain SHA-256 hex of the NIK."""
    assert nik_subject("2172041708900001") == hashlib.sha256(b"2172041708900001").hexdigest()
