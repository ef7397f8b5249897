"""Central's signature on a decision: a JWS (RFC 7515) in compact serialization, EdDSA over Ed25519.

Header `{"alg": "EdDSA", "kid": <RFC 7638 thumbprint>, "typ": "JWT"}`; the payload is a JWT claim set
(`DecisionClaims`). Signed with `cryptography` directly (the compact form is three base64url parts), and
verified in the tests by two independent JOSE libraries, joserfc and PyJWT, as a printing station of any
vendor would verify it against `GET /v1/jwks`.

RFC 9864 (2025) deprecates the polymorphic `EdDSA` name in favour of `Ed25519`; the contract fixes
`EdDSA`, which every JOSE library reads (joserfc wants it listed in `algorithms=` and warns).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"
CURVE = "Ed25519"

SubjectKind = Literal["citizen_key", "nik_sha256"]


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515, section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class DecisionClaims:
    """What a decision token binds: who (`sub`), which request, what was decided and when.

    `sub` is the request's citizen key (HMAC-SHA256 of the NIK with the office's secret) when the
    request carried one, else the plain SHA-256 hex of the NIK (`sub_kind` says which). The plain hash
    binds the person just as well but hides the NIK poorly: NIKs have little entropy (region, birth date,
    four-digit serial), so anyone holding a token can recover the NIK by hashing candidates; the keyed
    citizen key cannot be reversed without the secret.
    """

    issuer: str
    subject: str
    subject_kind: SubjectKind
    request_id: str
    decision: str
    decided_at: str
    issued_at: int

    def as_payload(self) -> dict[str, Any]:
        """The JWT claim set."""
        return {
            "iss": self.issuer,
            "sub": self.subject,
            "sub_kind": self.subject_kind,
            "iat": self.issued_at,
            "request_id": self.request_id,
            "decision": self.decision,
            "decided_at": self.decided_at,
        }


class SigningKey:
    """Central's Ed25519 key, named by its RFC 7638 JWK thumbprint (`kid`)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw_public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._x = b64url(raw_public)
        # RFC 7638: the required members, lexicographic order, no white space.
        thumbprint_input = _canonical_json({"crv": CURVE, "kty": "OKP", "x": self._x})
        self.kid = b64url(hashlib.sha256(thumbprint_input).digest())
        self._encoded_header = b64url(_canonical_json({"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}))

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """The key stored by `to_pem`."""
        private_key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("central's stored signing key is not an Ed25519 key")
        return cls(private_key)

    def to_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted: the store's folder is the protection (mode 0700)."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 8037)."""
        return {"kty": "OKP", "crv": CURVE, "x": self._x, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def sign(self, claims: DecisionClaims) -> str:
        """The compact JWS of `claims`: `header.payload.signature`."""
        signing_input = f"{self._encoded_header}.{b64url(_canonical_json(claims.as_payload()))}"
        signature = self._private_key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url(signature)}"


def jwk_set(keys: list[SigningKey]) -> dict[str, Any]:
    """The JWK Set (RFC 7517, section 5) that `GET /v1/jwks` serves."""
    return {"keys": [key.public_jwk() for key in keys]}


def nik_subject(nik: str) -> str:
    """The weaker subject used when a request carries no citizen key: SHA-256 hex of the NIK."""
    return hashlib.sha256(nik.encode("ascii")).hexdigest()
