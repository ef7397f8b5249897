"""The secret part of a Kafka broker's configuration (its JAAS lines, its SCRAM users), for the broker
`ektp broker start` runs and as files for one it does not run, and the files a Java client of a role connects with.

`pipeline/broker/launcher.py` takes `broker_properties`, `format_arguments` and `java_argfile` from here.

docker-compose.yml runs Apache Kafka's own image: its nodes read these files from a volume that its one-shot
`secrets` service fills (`ektp credentials broker-files` and `client-files`), so that they start with the security
`pipeline/broker/launcher.py` gives the project's own broker: SASL/SCRAM-SHA-512 on the client listeners (between
the nodes too, as the `broker` user), SASL/PLAIN on the controller listener (the `controller` user), and TLS with
the broker's certificate (`pipeline/broker/certs.py`). What is no secret (listeners, mechanisms, the authorizer, the
super users) stays in the broker's own configuration, where a reader sees it.

The broker's folder (`write_broker_files`):

- `server.properties`: the JAAS line of each SCRAM listener and of the controller listener, and the TLS key store
  and trust store (the copies beside it), to append to the node's server.properties;
- `format.args`: the `--add-scram` arguments of `kafka-storage.sh format`, one per line, quoted as a java @argfile
  wants them, so that no password is ever on a command line;
- `broker-keystore.pem` and `ca.pem`: copies of the TLS files.

A client's folder (`write_client_files`): `<role>.properties` (a Java client's or a Kafka tool's `--command-config`:
SASL, its JAAS line, the CA as a PEM trust store), `<role>.jaas` (the `KafkaClient` section of a JAAS file, for a
program that is told `-Djava.security.auth.login.config`), and `ca.pem`.

Every file is replaced whole (a reader never sees half of one) and only when its content changes. Given a `group`,
the folder (0750) and the files holding a secret (0640) belong to it, so that a container of another user in that
group reads them; without one they are this user's alone (0700, 0600). `ca.pem` is public (0644).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pipeline.broker.certs import (
    BROKER_CERT_FILE,
    BROKER_KEY_FILE,
    CA_KEY_FILE,
    KEYSTORE_FILE,
    TlsFiles,
    server_tls_properties,
    tls_files,
)
from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.security import (
    BROKER_ROLE,
    CA_FILE,
    CONTROLLER_ROLE,
    SCRAM_MECHANISM,
    Credential,
    credential,
    ensure_credentials,
    security_protocol,
)

SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SERVER_PROPERTIES_FILE = "server.properties"
FORMAT_ARGS_FILE = "format.args"
CONTROLLER_LISTENER = "CONTROLLER"
# What would end a JAAS value, an `--add-scram` entry or a properties line before its end.
_UNSAFE = re.compile(r"[\"\\,\]=\s]")
_LISTENER = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


class ExportError(EktpError):
    """The files of a broker or client could not be written: a missing CA, a bad name, a folder not ours."""


def jaas_line(module: str, user: Credential, *extra: str) -> str:
    """One login module's JAAS entry for `user`, as `sasl.jaas.config` takes it (ends in `;`)."""
    for value in (user.username, user.password):
        if not value or _UNSAFE.search(value):
            raise ExportError(f"the credential of {user.username!r} holds a character a JAAS entry or a SCRAM user "
                              "cannot carry (quote, backslash, comma, ']', '=' or blank): make it again")
    return " ".join([module, "required", f'username="{user.username}"', f'password="{user.password}"', *extra]) + ";"


def broker_properties(
    credentials: Mapping[str, Credential], listeners: Sequence[str], *, tls_folder: Path | None,
    controller_listener: str = CONTROLLER_LISTENER,
) -> dict[str, str]:
    """The secret part of a node's server.properties: a JAAS line for each of the SCRAM `listeners` (the `broker`
    user, which the nodes connect to each other as), the controller listener's PLAIN user, and, with `tls_folder`,
    the key store and trust store in it."""
    broker, controller = credentials[BROKER_ROLE], credentials[CONTROLLER_ROLE]
    lines = {
        f"listener.name.{_listener(name)}.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": jaas_line(SCRAM_LOGIN, broker)
        for name in listeners
    }
    lines[f"listener.name.{_listener(controller_listener)}.plain.sasl.jaas.config"] = jaas_line(
        PLAIN_LOGIN, controller, f'user_{controller.username}="{controller.password}"')
    if tls_folder is not None:
        # Only the key store and the CA are copied there: server_tls_properties reads no other of these paths.
        lines |= server_tls_properties(TlsFiles(
            ca=tls_folder / CA_FILE, ca_key=tls_folder / CA_KEY_FILE, broker_cert=tls_folder / BROKER_CERT_FILE,
            broker_key=tls_folder / BROKER_KEY_FILE, keystore=tls_folder / KEYSTORE_FILE, covered_hosts=()))
    return lines


def format_arguments(credentials: Mapping[str, Credential]) -> list[str]:
    """`--add-scram` and its value for every SCRAM user: each role but `controller`, which uses PLAIN."""
    arguments = []
    for role, user in credentials.items():
        if role == CONTROLLER_ROLE:
            continue
        jaas_line(SCRAM_LOGIN, user)  # the same characters break `[name=...,password=...]`
        arguments += ["--add-scram", f"{SCRAM_MECHANISM}=[name={user.username},password={user.password}]"]
    return arguments


def client_properties(user: Credential, *, protocol: str, ca: Path | None) -> dict[str, str]:
    """A Java client's security properties as `user`; with `ca`, trusting it alone as a PEM trust store."""
    lines = {
        "security.protocol": protocol,
        "sasl.mechanism": SCRAM_MECHANISM,
        "sasl.jaas.config": jaas_line(SCRAM_LOGIN, user),
    }
    if ca is not None:
        lines |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(ca)}
    return lines


def jaas_client_section(user: Credential) -> str:
    """A JAAS file whose `KafkaClient` section logs in as `user` with SCRAM."""
    return f"KafkaClient {{\n  {jaas_line(SCRAM_LOGIN, user)}\n}};\n"


def render_properties(lines: Mapping[str, str]) -> str:
    """A Java properties file: one `key=value` a line, a backslash doubled so that Java reads it back."""
    return "".join(f"{key}={value.replace(chr(92), chr(92) * 2)}\n" for key, value in lines.items())


def java_argfile(arguments: Iterable[str]) -> str:
    """One argument a line, quoted as a java @argfile wants it: spaces and '#' stay in the argument."""
    return "".join('"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"\n' for argument in arguments)


def write_broker_files(
    settings: Settings, folder: Path, listeners: Sequence[str], *, group: int | None = None,
    controller_listener: str = CONTROLLER_LISTENER,
) -> list[Path]:
    """Write the broker's folder (see the module): every role's credential, made if missing, and with TLS
    (`settings.kafka_uses_tls`) the broker's key store and the CA, which `ektp broker certs` must have made."""
    if not listeners:
        raise ExportError("name at least one SCRAM listener of the broker (`--listener`)")
    credentials = ensure_credentials(settings)
    tls = settings.kafka_uses_tls
    written = []
    _folder(folder, group)
    if tls:
        source = tls_files(settings)
        written += [_copy(source.keystore, folder / KEYSTORE_FILE, group),
                    _copy(source.ca, folder / CA_FILE, None, public=True)]
    properties = broker_properties(credentials, listeners, tls_folder=folder if tls else None,
                                   controller_listener=controller_listener)
    header = "# Written by `ektp credentials broker-files`: append to the node's server.properties.\n"
    written.append(_write(folder / SERVER_PROPERTIES_FILE, header + render_properties(properties), group))
    written.append(_write(folder / FORMAT_ARGS_FILE, java_argfile(format_arguments(credentials)), group))
    return written


def write_client_files(settings: Settings, role: str, folder: Path, *, group: int | None = None) -> list[Path]:
    """Write a client's folder (see the module) for `role`, whose credential must exist."""
    user = credential(settings, role)
    written = []
    _folder(folder, group)
    ca = None
    if settings.kafka_uses_tls:
        ca = _copy(tls_files(settings).ca, folder / CA_FILE, None, public=True)
        written.append(ca)
    properties = client_properties(user, protocol=security_protocol(settings), ca=ca)
    written.append(_write(folder / f"{role}.properties", render_properties(properties), group))
    written.append(_write(folder / f"{role}.jaas", jaas_client_section(user), group))
    return written


def _listener(name: str) -> str:
    if not _LISTENER.fullmatch(name):
        raise ExportError(f"{name!r} is no listener name")
    return name.lower()


def _folder(folder: Path, group: int | None) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if group is not None:
            os.chown(folder, -1, group)
        folder.chmod(0o750 if group is not None else 0o700)
    except OSError as error:
        raise ExportError(f"cannot prepare {folder}{_as_group(group)}: {error}") from None


def _copy(source: Path, target: Path, group: int | None, *, public: bool = False) -> Path:
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise ExportError(f"{source} is missing: make the TLS files first with `ektp broker certs`") from None
    except OSError as error:
        raise ExportError(f"cannot read {source}: {error}") from None
    return _write(target, data, group, public=public)


def _write(path: Path, content: str | bytes, group: int | None, *, public: bool = False) -> Path:
    """Replace `path` by `content` at once, with its mode and group from the first byte; unchanged, leave it."""
    data = content.encode() if isinstance(content, str) else content
    mode = 0o644 if public else 0o640 if group is not None else 0o600
    try:
        if path.is_file() and path.read_bytes() == data:
            if group is not None and not public:
                os.chown(path, -1, group)
            path.chmod(mode)
            return path
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
            if group is not None and not public:
                os.chown(temporary, -1, group)
            temporary.chmod(mode)
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ExportError(f"cannot write {path}{_as_group(group)}: {error}") from None
    return path


def _as_group(group: int | None) -> str:
    return f" for group {group} (this user must belong to it)" if group is not None else ""
