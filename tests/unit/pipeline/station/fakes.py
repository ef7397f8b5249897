"""Central's keys, tokens and JWK Set server, and print jobs, for the station's tests (unit and integration)."""

from __future__ import annotations

import json
import uuid
import warnings
from typing import Any

from aiohttp import web
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from events.identity import citizen_key as derive_citizen_key
from events.printing import CardData, PrintRequested
from tests.support.submissions import valid_submission

CITIZEN_KEY_SECRET = b"station-tests-secret"


def central_key(kid: str | None = None) -> OKPKey:
    """A fresh Ed25519 signing key, as central would hold."""
    return OKPKey.generate_key("Ed25519", parameters={"kid": kid or uuid.uuid4().hex[:16], "use": "sig",
                                                      "alg": "EdDSA"})


def sign(key: OKPKey, claims: dict[str, Any], *, kid: str | None = None, alg: str = "EdDSA") -> str:
    """A compact JWS of `claims`, as central signs decisions."""
    header = {"alg": alg, "kid": kid if kid is not None else key.kid, "typ": "JWT"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=[alg])


def claims_for(job: PrintRequested, **overrides: Any) -> dict[str, Any]:
    """The claims central signs for a print-ready job."""
    claims = {
        "iss": "central-sim", "sub": job.citizen_key, "sub_kind": "citizen_key", "iat": 1_780_000_000,
        "request_id": job.request_id, "decision": "PRINT_READY_RECORD", "decided_at": "2026-11-28T09:20:00+07:00",
    }
    claims.update(overrides)
    return claims


def card_for(submission: dict[str, Any]) -> CardData:
    resident, biometrics = submission["resident"], submission["biometrics"]
    return CardData.model_validate({
        **{name: resident[name] for name in (
            "nik", "full_name", "birth_place", "birth_date", "sex", "blood_type", "address", "religion",
            "marital_status", "occupation", "citizenship")},
        "issued_in": resident["address"]["city"], "face": biometrics["face"], "signature": biometrics["signature"],
    })


def unsigned_job(
    *, office_code: str = "2172", nik: str = "2172041708900001", request_type: str = "new",
    station_id: str | None = None, request_id: str | None = None, job_id: str | None = None,
) -> PrintRequested:
    """A print job with an empty approval token (sign it with `signed`)."""
    submission = valid_submission(nik=nik, request_id=request_id, person=uuid.uuid4().hex)
    request = submission["request_id"]
    return PrintRequested(
        request_id=request, job_id=job_id or request, citizen_key=derive_citizen_key(nik, CITIZEN_KEY_SECRET),
        office_code=office_code, station_id=station_id, request_type=request_type,
        priority=0 if request_type == "new" else 1, approval_token="", card=card_for(submission),
    )


def signed(job: PrintRequested, key: OKPKey, **claim_overrides: Any) -> PrintRequested:
    """The job carrying central's token over its own request, person and decision (or what is overridden)."""
    return job.model_copy(update={"approval_token": sign(key, claims_for(job, **claim_overrides))})


def print_job(key: OKPKey, **fields: Any) -> PrintRequested:
    """A validly signed print job."""
    return signed(unsigned_job(**fields), key)


class JwksServer:
    """Central's `GET /v1/jwks` on a free loopback port; keys can be added or removed while it runs."""

    def __init__(self, *keys: OKPKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> JwksServer:
        app = web.Application()
        app.router.add_get("/v1/jwks", self._jwks)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/v1/jwks"

    async def _jwks(self, _request: web.Request) -> web.Response:
        self.fetches += 1
        if self.failing:
            return web.Response(status=503)
        return web.json_response({"keys": [key.as_dict(private=False) for key in self.keys]})
