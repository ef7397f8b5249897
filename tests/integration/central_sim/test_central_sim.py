"""central_sim as a real process over HTTP: decisions, signed tokens, idempotency, rate limit, outages.

No Kafka: each server is `python -m central_sim` on free ports with a data folder of its own, stopped
with SIGTERM (and expected to exit 0).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from tests.support import ROOT
from tests.support.env import free_port
from tests.support.submissions import FINGERS, digest, valid_submission
from tests.support.waiting import wait_until_async

# joserfc warns that RFC 9864 deprecates the name `EdDSA`; the contract fixes that name.
pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:EdDSA is deprecated")]

ADMIN_TOKEN = "central-test-admin-token"
READY_TIMEOUT = 30.0


class CentralProcess:
    """One `python -m central_sim` child, its ready line read from stdout, its logs in a file."""

    def __init__(self, data_dir: Path, log_path: Path, *flags: str) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.admin_port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("EKTP_CENTRAL_")}
        env["EKTP_CENTRAL_ADMIN_TOKEN"] = ADMIN_TOKEN
        self._log = log_path.open("a")
        self.popen = subprocess.Popen(
            [
                sys.executable, "-m", "central_sim", "--port", str(self.port), "--admin-port", str(self.admin_port),
                "--data-dir", str(data_dir), "--latency-ms", "0", "--jitter-ms", "0", *flags,
            ],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        self.ready = self._read_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def _read_ready(self) -> dict[str, Any]:
        stdout = self.popen.stdout
        assert stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=deadline - time.monotonic()):
                    break
                line = stdout.readline()
                if not line:
                    self.stop()
                    raise AssertionError(f"central_sim exited before ready:\n{self.log_path.read_text()}")
                document: dict[str, Any] = json.loads(line)
                if document.get("event") == "central-sim ready":
                    return document
        self.stop()
        raise AssertionError(f"central_sim not ready within {READY_TIMEOUT}s:\n{self.log_path.read_text()}")

    def stop(self) -> int:
        """SIGTERM, and the exit status (SIGKILL only if it does not stop)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._log.close()
        return self.popen.returncode

    def log(self) -> str:
        return self.log_path.read_text()


CentralFactory = Callable[..., CentralProcess]


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralProcess]:
    """One server shared by this module's tests that need no special settings (no rate limit)."""
    folder = tmp_path_factory.mktemp("central")
    process = CentralProcess(folder / "data", folder / "central.log", "--rate-per-second", "0")
    yield process
    assert process.stop() == 0, process.log()


@pytest.fixture
def central_factory(tmp_path: Path) -> Iterator[CentralFactory]:
    """Starts servers with the flags a test needs; all are stopped (and must exit 0) at the end."""
    started: list[CentralProcess] = []

    def start(*flags: str, data_dir: Path | None = None) -> CentralProcess:
        process = CentralProcess(data_dir or tmp_path / f"data-{len(started)}", tmp_path / "central.log", *flags)
        started.append(process)
        return process

    yield start
    for process in started:
        assert process.stop() == 0, process.log()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client with a short overall timeout."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture
async def outage(central: CentralProcess, http: aiohttp.ClientSession) -> AsyncIterator[CentralProcess]:
    """The shared server, cleared of any outage after the test whatever happened."""
    yield central
    await command(http, central, mode="clear")


# -- helpers


def joserfc_keys(document: Any) -> KeySet:
    """joserfc's key set from a JWK Set document as served by /v1/jwks."""
    return KeySet.import_key_set(document)


def admin_headers(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def command(http: aiohttp.ClientSession, server: CentralProcess, **body: Any) -> dict[str, Any]:
    async with http.post(f"{server.admin_url}/admin/outage", json=body, headers=admin_headers()) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def enroll(http: aiohttp.ClientSession, server: CentralProcess, document: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{server.url}/v1/enrollments", json=document) as response:
        return response.status, await response.json()


async def decide(http: aiohttp.ClientSession, server: CentralProcess, document: dict[str, Any]) -> str:
    status, answer = await enroll(http, server, document)
    assert status == 200, answer
    decision: str = answer["decision"]
    return decision


async def jwks(http: aiohttp.ClientSession, server: CentralProcess) -> dict[str, Any]:
    async with http.get(f"{server.url}/v1/jwks") as response:
        assert response.status == 200
        keys: dict[str, Any] = await response.json()
        return keys


_serial = iter(range(1, 10_000))


def fresh_nik() -> str:
    """A valid NIK no other test of this module uses (Bukit Bestari, 17 Aug 1990, a new serial)."""
    return f"217204170890{next(_serial):04d}"


def person(name: str, **overrides: Any) -> dict[str, Any]:
    """A submission of a new NIK with fingers of its own (`name` must be unique to the test)."""
    document = valid_submission(nik=fresh_nik(), person=name)
    document.update(overrides)
    return document


def sharing(name: str, shared_with: str, fingers: int) -> dict[str, Any]:
    """A new NIK whose first `fingers` finger digests are those of `shared_with`."""
    document = person(name)
    for finger in FINGERS[:fingers]:
        document["biometrics"]["fingerprints"][finger] = digest(f"{shared_with}-{finger}")
    return document


def unique(label: str) -> str:
    return f"{label}-{time.monotonic_ns()}"


# -- decisions


async def test_new_person_is_print_ready(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """A NIK whose fingers central has not seen elsewhere is PRINT_READY_RECORD, with every answer field."""
    document = person(unique("ani"))
    status, answer = await enroll(http, central, document)
    assert status == 200
    assert set(answer) == {"request_id", "decision", "reason", "decided_at", "token"}
    assert answer["request_id"] == document["request_id"]
    assert answer["decision"] == "PRINT_READY_RECORD"
    assert " / " in answer["reason"]


@pytest.mark.parametrize(("fingers", "expected"), [(6, "DUPLICATE_RECORD"), (5, "ADJUDICATE_RECORD")])
async def test_fingers_shared_with_another_nik(
    central: CentralProcess, http: aiohttp.ClientSession, fingers: int, expected: str
) -> None:
    """Six fingers on file under another NIK make a duplicate, five need adjudication."""
    first = unique("budi")
    assert await decide(http, central, person(first)) == "PRINT_READY_RECORD"
    assert await decide(http, central, sharing(unique("siti"), first, fingers)) == expected


@pytest.mark.parametrize(("field", "score", "expected"), [
    ("min_fingerprint", 39, "ENROLL_FAILURE_AT_CENTRAL"),
    ("min_fingerprint", 40, "PRINT_READY_RECORD"),
    ("face", 39, "ENROLL_FAILURE_AT_CENTRAL"),
    ("face", 40, "PRINT_READY_RECORD"),
])
async def test_quality_below_40_fails_at_central(
    central: CentralProcess, http: aiohttp.ClientSession, field: str, score: int, expected: str
) -> None:
    """A fingerprint or face quality of 39 is ENROLL_FAILURE_AT_CENTRAL; 40 passes."""
    document = person(unique("eko"))
    document["biometrics"]["quality"][field] = score
    assert await decide(http, central, document) == expected


async def test_replacement_card_of_the_same_nik_is_not_a_duplicate(
    central: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """The same NIK enrolling again with the same fingers (a new request) is print ready again."""
    first = person(unique("dewi"))
    await decide(http, central, first)
    replacement = {**first, "request_id": unique("replacement"), "request_type": "replacement_damaged"}
    assert await decide(http, central, replacement) == "PRINT_READY_RECORD"


# -- idempotency


async def test_repeat_returns_the_same_decision_and_token(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """The same request twice is one request: the same answer, marked as a replay, not its own duplicate."""
    document = person(unique("fajar"))
    async with http.post(f"{central.url}/v1/enrollments", json=document) as response:
        first = await response.json()
        assert "Idempotent-Replayed" not in response.headers
    async with http.post(f"{central.url}/v1/enrollments", json=document) as response:
        again = await response.json()
        assert response.headers["Idempotent-Replayed"] == "true"
    assert again == first
    assert again["decision"] == "PRINT_READY_RECORD"


async def test_different_body_under_a_known_request_id_is_409(
    central: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """A decided request_id sent again with another body is a 409 conflict."""
    document = person(unique("gita"))
    await decide(http, central, document)
    status, answer = await enroll(http, central, {**document, "desk_id": "REKAM-09"})
    assert status == 409
    assert answer["error"] == "request_id_conflict"
    assert answer["request_id"] == document["request_id"]


async def test_decisions_and_key_survive_a_restart(
    central_factory: CentralFactory, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """After SIGTERM and a new start on the same data: same kid, same answer, people still on file."""
    data_dir = tmp_path / "kept"
    before = central_factory(data_dir=data_dir)
    name = unique("hadi")
    hadi = person(name)
    status, first = await enroll(http, before, hadi)
    assert status == 200
    kid = (await jwks(http, before))["keys"][0]["kid"]
    assert before.stop() == 0

    after = central_factory(data_dir=data_dir)
    status, again = await enroll(http, after, hadi)
    assert (status, again) == (200, first)
    assert (await jwks(http, after))["keys"][0]["kid"] == kid == after.ready["kid"]
    assert await decide(http, after, sharing(unique("ida"), name, 10)) == "DUPLICATE_RECORD"


# -- signed tokens


async def test_token_verifies_with_joserfc_and_pyjwt_against_the_jwks(
    central: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """A printing station verifies the token with joserfc or PyJWT from /v1/jwks alone; it binds the person."""
    citizen_key = digest(unique("citizen"))
    document = {**person(unique("joko")), "citizen_key": citizen_key}
    status, answer = await enroll(http, central, document)
    assert status == 200
    key_set = await jwks(http, central)
    [jwk] = key_set["keys"]
    assert {jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"]} == {"OKP", "Ed25519", "sig", "EdDSA"}

    by_joserfc = jose_jwt.decode(answer["token"], joserfc_keys(key_set), algorithms=["EdDSA"])
    assert by_joserfc.header == {"alg": "EdDSA", "kid": jwk["kid"], "typ": "JWT"}
    claims = pyjwt.decode(
        answer["token"], pyjwt.PyJWKSet.from_dict(key_set)[jwk["kid"]], algorithms=["EdDSA"],
        issuer="ditjen-dukcapil-central-sim", options={"require": ["iss", "sub", "iat"]},
    )
    assert claims == by_joserfc.claims
    assert claims["sub"] == citizen_key
    assert claims["sub_kind"] == "citizen_key"
    assert (claims["request_id"], claims["decision"], claims["decided_at"]) == (
        answer["request_id"], answer["decision"], answer["decided_at"],
    )


async def test_without_citizen_key_the_subject_is_the_nik_digest(
    central: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """A request with no citizen_key is bound to the SHA-256 hex of its NIK."""
    document = person(unique("kiki"))
    _, answer = await enroll(http, central, document)
    claims = jose_jwt.decode(answer["token"], joserfc_keys(await jwks(http, central)), algorithms=["EdDSA"])
    assert claims.claims["sub"] == hashlib.sha256(document["resident"]["nik"].encode()).hexdigest()
    assert claims.claims["sub_kind"] == "nik_sha256"


async def test_tampered_token_fails_verification(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """A DUPLICATE turned into PRINT_READY in the payload no longer verifies, with either library."""
    first = unique("lina")
    await decide(http, central, person(first))
    _, answer = await enroll(http, central, sharing(unique("mira"), first, 10))
    header, payload, signature = answer["token"].split(".")
    claims = json.loads(base64url_decode(payload))
    assert claims["decision"] == "DUPLICATE_RECORD"
    forged_payload = base64url_encode(json.dumps({**claims, "decision": "PRINT_READY_RECORD"}).encode())
    forged = f"{header}.{forged_payload}.{signature}"
    key_set = await jwks(http, central)
    with pytest.raises(BadSignatureError):
        jose_jwt.decode(forged, joserfc_keys(key_set), algorithms=["EdDSA"])
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(forged, pyjwt.PyJWKSet.from_dict(key_set).keys[0], algorithms=["EdDSA"])


def base64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def base64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- refusals


async def test_body_that_is_not_json_is_400(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """Bytes that are not JSON are a 400 with a JSON error."""
    headers = {"Content-Type": "application/json"}
    async with http.post(f"{central.url}/v1/enrollments", data=b"{nope", headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "malformed_json"


async def test_body_not_in_the_contract_shape_is_422_without_echoing_it(
    central: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """A submission missing fields or with bad values is a 422 naming the fields, never their values."""
    document = person(unique("nana"))
    del document["biometrics"]["fingerprints"]["left_little"]
    document["resident"]["birth_date"] = "yesterday " + document["resident"]["nik"]
    status, answer = await enroll(http, central, document)
    assert status == 422
    assert answer["error"] == "invalid_enrollment"
    assert answer["request_id"] == document["request_id"]
    shown = json.dumps(answer["detail"])
    assert "left_little" in shown
    assert "birth_date" in shown
    assert document["resident"]["nik"] not in shown


async def test_over_the_rate_is_429_with_retry_after(
    central_factory: CentralFactory, http: aiohttp.ClientSession
) -> None:
    """Past the burst, central answers 429 with a Retry-After of whole seconds, at least 1."""
    limited = central_factory("--rate-per-second", "0.1", "--burst", "2")
    assert [(await enroll(http, limited, person(unique("olga"))))[0] for _ in range(2)] == [200, 200]
    async with http.post(f"{limited.url}/v1/enrollments", json=person(unique("olga"))) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert (await response.json())["error"] == "rate_limited"


# -- batch


async def test_batch_answers_each_item_in_order(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """A batch gets one result per item, in order: decisions, refusals and conflicts side by side."""
    first = unique("putri")
    original = person(first)
    await decide(http, central, original)
    broken = person(unique("rani"))
    del broken["desk_id"]
    batch: list[Any] = [
        person(unique("sari")),
        sharing(unique("tono"), first, 7),
        broken,
        original,
        {**original, "desk_id": "REKAM-07"},
        "not an enrollment",
    ]
    async with http.post(f"{central.url}/v1/enrollments:batch", json=batch) as response:
        assert response.status == 200
        results = await response.json()
    assert [result["status"] for result in results] == [200, 200, 422, 200, 409, 422]
    assert [result.get("decision") for result in results[:2]] == ["PRINT_READY_RECORD", "DUPLICATE_RECORD"]
    assert [result["request_id"] for result in results[:5]] == [item["request_id"] for item in batch[:5]]
    assert results[5]["request_id"] is None
    assert results[3]["replayed"] is True
    assert results[2]["error"] == "invalid_enrollment"
    assert results[4]["error"] == "request_id_conflict"
    assert {"token", "decided_at", "reason"} <= set(results[0])


async def test_batch_items_past_the_rate_are_429_and_too_big_a_batch_is_413(
    central_factory: CentralFactory, http: aiohttp.ClientSession
) -> None:
    """Each item counts against the rate (the rest are 429 items); a batch over max_batch is refused whole."""
    limited = central_factory("--rate-per-second", "0.1", "--burst", "2", "--max-batch", "3")
    batch = [person(unique("umar")) for _ in range(3)]
    async with http.post(f"{limited.url}/v1/enrollments:batch", json=batch) as response:
        results = await response.json()
    assert [result["status"] for result in results] == [200, 200, 429]
    assert results[2]["request_id"] == batch[2]["request_id"]
    assert results[2]["retry_after"] >= 1
    async with http.post(f"{limited.url}/v1/enrollments:batch", json=batch + batch[:1]) as response:
        assert response.status == 413
        assert (await response.json())["error"] == "batch_too_large"
    async with http.post(f"{limited.url}/v1/enrollments:batch", json=batch[:1]) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) >= 1


# -- outages


async def public_refuses_connections(server: CentralProcess) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def health(http: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    async with http.get(f"{base_url}/health") as response:
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer


async def test_down_refuses_connections_while_admin_answers(
    outage: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """`down` closes the public port (connection refused); the admin port answers; `clear` reopens it."""
    status = await command(http, outage, mode="down")
    assert (status["mode"], status["public_port_open"]) == ("down", False)
    assert await public_refuses_connections(outage)
    assert (await health(http, outage.admin_url))["mode"] == "down"
    await command(http, outage, mode="clear")
    assert not await public_refuses_connections(outage)
    assert (await health(http, outage.url))["mode"] == "normal"


async def test_down_for_two_seconds_recovers_by_itself(outage: CentralProcess, http: aiohttp.ClientSession) -> None:
    """`down` with for_seconds 2 ends with no one touching it: the public /health answers again."""
    status = await command(http, outage, mode="down", for_seconds=2)
    assert status["until"] is not None
    assert 0 < status["remaining_seconds"] <= 2
    assert await public_refuses_connections(outage)

    async def answers() -> bool:
        try:
            mode: str = (await health(http, outage.url))["mode"]
        except aiohttp.ClientConnectionError:
            return False
        return mode == "normal"

    await wait_until_async(answers, timeout=10, what="the public port answers again")


async def test_hang_accepts_and_never_answers(outage: CentralProcess, http: aiohttp.ClientSession) -> None:
    """During `hang` a client with a 1 s timeout times out; a held request gets 503 once the hang ends."""
    await command(http, outage, mode="hang")
    with pytest.raises(TimeoutError):
        async with http.get(f"{outage.url}/health", timeout=aiohttp.ClientTimeout(total=1)):
            pass
    already_held = await held_requests(http, outage)  # the timed-out call is still held by the server
    held = asyncio.create_task(enroll(http, outage, person(unique("vina"))))

    async def enrollment_is_held() -> bool:
        return await held_requests(http, outage) > already_held

    await wait_until_async(enrollment_is_held, timeout=5, what="the enrollment is held by the hang")
    await command(http, outage, mode="clear")
    status, answer = await held
    assert (status, answer["error"]) == (503, "central_unavailable")
    assert await decide(http, outage, person(unique("vina"))) == "PRINT_READY_RECORD"


async def held_requests(http: aiohttp.ClientSession, server: CentralProcess) -> float:
    """How many requests the hang holds right now, from the admin port's metrics."""
    async with http.get(f"{server.admin_url}/metrics") as response:
        text = await response.text()
    [value] = [line.split()[1] for line in text.splitlines() if line.startswith("central_sim_in_flight_held ")]
    return float(value)


async def test_flaky_with_error_rate_one_answers_503(outage: CentralProcess, http: aiohttp.ClientSession) -> None:
    """`flaky` with error_rate 1.0 answers every call 503 and decides nothing; `clear` heals it."""
    await command(http, outage, mode="flaky", error_rate=1.0)
    document = person(unique("wati"))
    for _ in range(3):
        status, answer = await enroll(http, outage, document)
        assert (status, answer["error"]) == (503, "central_unavailable")
    await command(http, outage, mode="clear")
    assert await decide(http, outage, document) == "PRINT_READY_RECORD"


async def test_slow_adds_the_latency_to_every_answer(outage: CentralProcess, http: aiohttp.ClientSession) -> None:
    """`slow` with latency_seconds 0.5 makes an answer take at least half a second."""
    await command(http, outage, mode="slow", latency_seconds=0.5)
    started = time.monotonic()
    assert await decide(http, outage, person(unique("yudi"))) == "PRINT_READY_RECORD"
    assert time.monotonic() - started >= 0.5
    assert (await command(http, outage, mode="clear"))["mode"] == "normal"


async def test_scheduled_window_is_shown_and_cleared(outage: CentralProcess, http: aiohttp.ClientSession) -> None:
    """A window with start_in_seconds is listed as scheduled while the link stays normal; `clear` cancels it."""
    status = await command(http, outage, mode="down", start_in_seconds=300, for_seconds=60)
    assert status["mode"] == "normal"
    [window] = status["scheduled"]
    assert (window["mode"], window["for_seconds"]) == ("down", 60)
    assert 299 < window["starts_in_seconds"] <= 300
    assert (await command(http, outage, mode="clear"))["scheduled"] == []


# -- admin


@pytest.mark.parametrize("headers", [{}, admin_headers("wrong-token"), {"Authorization": ADMIN_TOKEN}])
async def test_admin_without_the_token_is_401(
    central: CentralProcess, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    """The admin API refuses a missing or wrong bearer token, on both ports."""
    for base_url in (central.admin_url, central.url):
        async with http.post(f"{base_url}/admin/outage", json={"mode": "down"}, headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
        async with http.get(f"{base_url}/admin/outage", headers=headers) as response:
            assert response.status == 401
    assert (await health(http, central.url))["mode"] == "normal"


async def test_bad_outage_command_is_422(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """An unknown mode or an error rate above 1 is refused with 422."""
    for body in ({"mode": "melt"}, {"mode": "flaky", "error_rate": 2}):
        async with http.post(f"{central.admin_url}/admin/outage", json=body, headers=admin_headers()) as response:
            assert response.status == 422
            assert (await response.json())["error"] == "invalid_outage_command"


async def test_metrics_count_requests_and_decisions_without_any_nik(
    central: CentralProcess, http: aiohttp.ClientSession
) -> None:
    """The admin port's /metrics counts decisions by kind and the mode, and no label holds a NIK."""
    document = person(unique("zaki"))
    await decide(http, central, document)
    async with http.get(f"{central.admin_url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    assert 'central_sim_decisions_total{decision="PRINT_READY_RECORD"}' in text
    assert 'central_sim_requests_total{endpoint="enroll",outcome="ok"}' in text
    assert 'central_sim_outage_mode{central_sim_outage_mode="normal"} 1.0' in text
    assert document["resident"]["nik"] not in text
    async with http.get(f"{central.url}/metrics") as response:
        assert response.status == 404


async def test_health_reports_mode_uptime_and_counts(central: CentralProcess, http: aiohttp.ClientSession) -> None:
    """/health answers with the mode, the uptime and the counts of people and decisions."""
    await decide(http, central, person(unique("asih")))
    answer = await health(http, central.url)
    assert answer["status"] == "ok"
    assert answer["mode"] == "normal"
    assert answer["uptime_seconds"] > 0
    assert answer["counts"]["people_on_file"] >= 1
    assert answer["counts"]["by_decision"]["PRINT_READY_RECORD"] >= 1


async def test_logs_are_json_lines_without_a_full_nik(
    central_factory: CentralFactory, http: aiohttp.ClientSession
) -> None:
    """Every log line is JSON, and no NIK sent to central appears in full, even at debug level."""
    server = central_factory("--log-level", "debug")
    documents = [person(unique("bayu")) for _ in range(3)]
    for document in documents:
        await decide(http, server, document)
    broken = person(unique("bayu"))
    broken["resident"]["sex"] = "unknown"
    await enroll(http, server, broken)
    assert server.stop() == 0
    lines = server.log().splitlines()
    assert any(json.loads(line)["event"] == "enrollment decided" for line in lines)
    for document in [*documents, broken]:
        assert document["resident"]["nik"] not in server.log()
