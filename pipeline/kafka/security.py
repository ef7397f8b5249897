"""Who a Kafka client is: each role's SCRAM credentials, and the options a client of that role connects with.

Every listener of the project's broker asks for SASL/SCRAM-SHA-512 (and TLS off the loopback,
`Settings.kafka_uses_tls`), so every client names a role: the principal whose ACLs
(`pipeline.topology.acls`) say what it may read and write. The passwords are made once, when the broker's
storage is first formatted, and kept one per file of mode 0600 in `Settings.credentials_path`; the broker
learns them at format time, so no client ever connects without one.

Besides the program roles there are the broker's own principals: `admin` (topics, ACLs, the project's
tools), `broker` (the nodes among themselves) and `controller` (the KRaft quorum, over SASL/PLAIN, since
SCRAM users live in the metadata the quorum itself serves).
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.topology.acls import roles

SCRAM_MECHANISM = "SCRAM-SHA-512"
ADMIN_ROLE = "admin"
BROKER_ROLE = "broker"
CONTROLLER_ROLE = "controller"
# Super users: the broker's own principals, which the ACLs do not need to name.
SUPER_ROLES = (ADMIN_ROLE, BROKER_ROLE, CONTROLLER_ROLE)
CA_FILE = "ca.pem"


class CredentialsMissing(EktpError):
    """A client asked for a role's credentials that the run folder does not hold."""


@dataclass(frozen=True)
class Credential:
    """The SCRAM user of one role. `repr` hides the password, so a credential in a log says only whose it is."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password='***')"


def all_roles() -> tuple[str, ...]:
    """Every principal that gets a password: the programs' roles and the broker's own."""
    return (*roles(), *SUPER_ROLES)


def credentials_file(settings: Settings, role: str) -> Path:
    """Where the password of `role` is kept."""
    return settings.credentials_path / f"{role}.json"


def ensure_credentials(settings: Settings) -> dict[str, Credential]:
    """Each role's credential, making the missing ones: a random password in a new 0600 file.

    An existing file is kept, so a broker formatted with it and the clients reading it agree.
    """
    folder = settings.credentials_path
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    made = {}
    for role in all_roles():
        path = credentials_file(settings, role)
        if not path.exists():
            body = json.dumps({"username": role, "password": secrets.token_urlsafe(24)}) + "\n"
            # Created 0600 from the start: the password is never readable by others, not even for an instant.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(body)
        made[role] = credential(settings, role)
    return made


def credential(settings: Settings, role: str) -> Credential:
    """The credential of `role`, as `ensure_credentials` wrote it."""
    path = credentials_file(settings, role)
    try:
        stored = json.loads(path.read_text())
        return Credential(str(stored["username"]), str(stored["password"]))
    except FileNotFoundError:
        raise CredentialsMissing(
            f"no Kafka credentials for role {role!r} in {settings.credentials_path}: the broker makes them when "
            "it first formats its storage (`ektp broker start` with the same EKTP_RUN_DIR), or copy that "
            "folder's file here"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CredentialsMissing(f"the Kafka credentials of role {role!r} in {path} are unreadable: {error}") from None


def security_protocol(settings: Settings) -> str:
    return "SASL_SSL" if settings.kafka_uses_tls else "SASL_PLAINTEXT"


def ca_file(settings: Settings) -> Path:
    return settings.tls_path / CA_FILE


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """A client's TLS context: trusts the project's private CA only, and checks the broker's host name."""
    path = ca_file(settings)
    if not path.is_file():
        raise CredentialsMissing(f"no CA certificate at {path}: make one with `ektp broker certs`")
    context: ssl.SSLContext = create_ssl_context(cafile=str(path))
    return context


def client_options(settings: Settings, role: str, *, bootstrap_servers: str | None = None) -> dict[str, Any]:
    """Keyword arguments of an aiokafka producer, consumer or admin client that connects as `role`."""
    options = connection_options(settings, role)
    return {"bootstrap_servers": bootstrap_servers or settings.bootstrap_servers, **options}


def connection_options(settings: Settings, role: str) -> dict[str, Any]:
    """`client_options` without the bootstrap servers: for one connection of aiokafka's own (`create_conn`)."""
    options = _sasl_options(settings, role)
    if settings.kafka_uses_tls:
        options["ssl_context"] = ssl_context(settings)
    return options


def portable_options(settings: Settings, role: str) -> dict[str, Any]:
    """`client_options` as JSON, for a program outside the project: with TLS, the CA as a file path.

    Such a program passes `ssl_context=aiokafka.helpers.create_ssl_context(cafile=options.pop("ssl_cafile"))`.
    """
    options: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers, **_sasl_options(settings, role)}
    if settings.kafka_uses_tls:
        options["ssl_cafile"] = str(ca_file(settings).resolve())
    return options


def _sasl_options(settings: Settings, role: str) -> dict[str, Any]:
    user = credential(settings, role)
    return {
        "security_protocol": security_protocol(settings),
        "sasl_mechanism": SCRAM_MECHANISM,
        "sasl_plain_username": user.username,
        "sasl_plain_password": user.password,
    }
