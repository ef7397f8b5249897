"""The simulated central server of Ditjen Dukcapil (HTTP), with its own storage and fault injection.

A stand-in for the central data centre the offices send enrollments to (docs/architecture.md, "The central server
(central_sim) contract"): it deduplicates by fingerprints, signs its decisions, remembers everything across
restarts, rate-limits, and can be struck by lightning on command. It imports only `events`.

Running it
----------
    python -m central_sim [--host H] [--port P] [--admin-port Q] [--data-dir DIR] [--admin-token T]
                          [--rate-per-second R] [--burst N] [--latency-ms MS] [--jitter-ms MS]
                          [--max-batch N] [--issuer S] [--log-level debug|info|warning|error]

Each flag overrides the environment variable `EKTP_CENTRAL_<NAME>` (`--admin-port` is
`EKTP_CENTRAL_ADMIN_PORT`, ...), which overrides the default (`config.CentralSettings`):

    host 127.0.0.1 | port 8600 | admin_port port + 1 (8601) | data_dir <checkout>/.ektp/central
    admin_token "dev-only-central-admin-token-change-me" (pass it by environment, not on the command line)
    rate_per_second 1000 (0 = no limit) | burst 2000 | latency_ms 20 | jitter_ms 10 (uniform +/-; both 0
    for benchmarks) | max_batch 500 | issuer "ditjen-dukcapil-central-sim" | log_level info

When both ports listen it prints one line on stdout and nothing else ever:
`{"event": "central-sim ready", "host": ..., "port": P, "admin_port": Q, "kid": ..., "data_dir": ..., "pid": ...}`
(a port given as 0 is reported as the one bound). Logs are JSON lines on stderr with no full NIK (masked
`217204******0001`) and no bodies. SIGTERM or SIGINT: held requests are answered 503, both ports close,
exit status 0. Exit status 1 when it cannot start (a port taken, the store unreadable).

Two ports
---------
- public (8600): the link to central, which the faults break. Serves every endpoint below except
  /metrics, the admin API included (while it is up: use the admin port to end an outage).
- admin (8601): `GET|POST /admin/outage`, `GET /health`, `GET /metrics`, `GET /v1/jwks`; never
  affected by a fault.

Every error answer is `{"error": <code>, "detail": <text or list>}` (plus `"request_id"` when known).
A 4xx other than 429 means the request itself is wrong (permanent); 429 and 503 are transient.

Public API
----------
`POST /v1/enrollments` — body: the submission contract (events.enrollment.EnrollmentSubmission, exactly:
nothing extra inside its objects) plus, at the top level, an optional `"citizen_key": "<64 lowercase hex>"`
and any other extra field (ignored). Answers:
  200 `{"request_id", "decision", "reason", "decided_at", "token"}`; a repeat of the request_id returns the
      identical object (and header `Idempotent-Replayed: true`).
  400 `malformed_json` (not JSON); 422 `invalid_enrollment` (detail: pydantic's `{"type", "loc", "msg"}`
      list, never the values; also for a NIK that is not 16 digits or a bad citizen_key);
  409 `request_id_conflict`: the request_id was decided for a different body (the contract fields and the
      citizen_key are compared; other extras are not);
  429 `rate_limited` with `Retry-After: <whole seconds, >= 1>`; 503 `central_unavailable` (a fault;
      `Retry-After: 1`; the request was not processed).
`decision` is PRINT_READY_RECORD, DUPLICATE_RECORD, ADJUDICATE_RECORD or ENROLL_FAILURE_AT_CENTRAL;
`reason` is English, " / ", Indonesian; `decided_at` is ISO 8601 UTC with milliseconds.

`POST /v1/enrollments:batch` — body: a JSON array of at most max_batch enrollments (as above). One latency
charge per batch; each item takes one token of the rate limit. Answers 200 with an array of results in
the same order, each either
  `{"status": 200, "request_id", "decision", "reason", "decided_at", "token", "replayed": bool}` or
  `{"status": 422|409|429, "request_id": <str or null>, "error": <code>, "detail": ...}` (+ `"retry_after"`
  on 429: items past the tokens left are not processed: send them again).
The whole batch is refused with 400 (not JSON), 422 `invalid_batch` (not an array), 413 `batch_too_large`,
429 (no token at all, `Retry-After`) or 503 (a fault); an empty array answers `[]`.

`GET /v1/jwks` — `{"keys": [{"kty": "OKP", "crv": "Ed25519", "x", "kid", "use": "sig", "alg": "EdDSA"}]}`.
`GET /health` — 200 `{"status": "ok", "service": "central-sim", "mode", "public_port_open", "uptime_seconds",
"kid", "counts": {"people_on_file", "decisions", "by_decision": {<decision>: n}}}`.

The decision token
------------------
A JWS in compact serialization, signed with central's Ed25519 key (made at first start, kept in the store):
header `{"alg": "EdDSA", "kid": <RFC 7638 thumbprint of the key>, "typ": "JWT"}`, payload (a JWT claim set)
`{"iss", "sub", "sub_kind", "iat", "request_id", "decision", "decided_at"}`. `sub` is the request's
citizen_key (`sub_kind` "citizen_key") or, when none was sent, the SHA-256 hex of the NIK ("nik_sha256"):
weaker, because a NIK has little entropy (region, birth date, 4-digit serial) and can be recovered from
its plain hash by trying candidates; the citizen key is keyed and cannot. Verify with any JOSE library
against /v1/jwks, e.g. joserfc `jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["EdDSA"])`
or PyJWT `jwt.decode(token, PyJWKSet.from_dict(jwks)[kid], algorithms=["EdDSA"])`.

Decisions (deterministic; `decisions.py`)
-----------------------------------------
Count this record's 10 finger digests that some *other* NIK on file holds (on any finger): >= 6
DUPLICATE_RECORD, 1-5 ADJUDICATE_RECORD; else quality.min_fingerprint < 40 or quality.face < 40
ENROLL_FAILURE_AT_CENTRAL; else PRINT_READY_RECORD.
The gallery ("known to central"): every NIK central has seen, with the digests of its first record
(whatever its decision, so a third NIK reusing a duplicate's fingers is caught too), except a record
refused ENROLL_FAILURE_AT_CENTRAL, which central deletes (docs/architecture.md, "The KTP-el process"):
that NIK's next record is the one kept. The same NIK enrolling again (a replacement card) never matches itself.

Admin API (both ports; `Authorization: Bearer <admin_token>`, else 401 with `WWW-Authenticate: Bearer`)
-----------------------------------------------------------------------------------------------------
`POST /admin/outage` — body `{"mode": "down"|"flaky"|"slow"|"hang"|"clear", "for_seconds": float > 0 | null,
"error_rate": 0..1 (default 0.3), "latency_seconds": >= 0 (default 2.0), "start_in_seconds": >= 0 | null}`
(unknown fields refused: 422 `invalid_outage_command`). Answers 200 with the status below, once the mode is
applied (after `down` returns, the public port refuses connections).
`GET /admin/outage` — `{"mode": "normal"|"down"|"flaky"|"slow"|"hang", "since": ISO|null, "until": ISO|null,
"remaining_seconds": float|null, "error_rate", "latency_seconds", "public_port_open": bool, "scheduled":
[{"mode", "starts_at": ISO, "starts_in_seconds", "until": ISO|null, "for_seconds": float|null, "error_rate",
"latency_seconds"}]}`.
Modes on the public port: `down` closes the listening socket (ECONNREFUSED) and closes open keep-alive
connections after their current answer; `hang` accepts and answers nothing until the mode ends, then 503;
`flaky` answers a fraction error_rate of calls 503; `slow` adds latency_seconds to every answer; `clear`
ends the mode in force and cancels every scheduled window. `for_seconds` ends the mode by itself;
`start_in_seconds` schedules the window (a scheduled `clear` ends whatever is in force then). A command
given now, or a window when it starts, replaces the mode in force; when it ends the link is normal.
`GET /metrics` (admin port only) — Prometheus: central_sim_requests_total{endpoint,outcome},
central_sim_request_seconds{endpoint}, central_sim_enrollments_total{outcome},
central_sim_decisions_total{decision}, central_sim_outage_mode{central_sim_outage_mode=<mode>},
central_sim_public_port_open, central_sim_in_flight_held, central_sim_people_on_file. No NIK in any label.

Storage: `<data_dir>/central.sqlite3` (WAL, mode 0600): the signing key, people as keyed hashes of the NIK
with their finger digests, and every decision by request_id. Delete the folder to forget everything.
"""
