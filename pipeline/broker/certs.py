"""The broker's TLS files: a private CA the clients trust, and the broker's certificate signed by it.

All of them live in `Settings.tls_path` (a 0700 folder), and `ensure_certificates` makes what is missing:

- `ca.key` (0600) and `ca.pem`: the CA, an EC P-256 key and a self-signed certificate for ten years. The clients
  trust `ca.pem` alone (`pipeline.kafka.security.ssl_context`), so an existing CA is never made again; copy
  `ca.pem` to a client on another machine once.
- `broker.key` (0600) and `broker.pem`: the broker's EC P-256 key and its certificate for two years, naming as
  DNS names and IP addresses every host a client or another node may dial (`wanted_hosts`). A certificate that
  does not name a wanted host is issued again, under the same CA.
- `broker-keystore.pem` (0600): the broker's key followed by its chain (`broker.pem`, `ca.pem`), in the one file
  Kafka's `ssl.keystore.type=PEM` reads from `ssl.keystore.location` (`server_tls_properties`).

The broker uses them when its listeners speak TLS: `EKTP_KAFKA_TLS=true`, or a `kafka_host` off the loopback.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline.config import Settings
from pipeline.errors import EktpError
from pipeline.kafka.security import CA_FILE

CA_KEY_FILE = "ca.key"
BROKER_CERT_FILE = "broker.pem"
BROKER_KEY_FILE = "broker.key"
KEYSTORE_FILE = "broker-keystore.pem"
LOCK_FILE = ".lock"
CA_DAYS = 3650
BROKER_DAYS = 730
# A broker certificate closer than this to its end is issued again: the broker never starts on one about to lapse.
RENEW_BEFORE = datetime.timedelta(days=30)
# Certificates start a little in the past, so a machine whose clock lags this one still accepts them.
BACKDATE = datetime.timedelta(hours=1)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


class CertificateError(EktpError):
    """The broker's TLS files could not be made: a host that is no name, or a CA whose key is gone."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA and the broker's certificate are, and the hosts that certificate names."""

    ca: Path
    ca_key: Path
    broker_cert: Path
    broker_key: Path
    keystore: Path
    covered_hosts: tuple[str, ...]


def tls_files(settings: Settings, covered_hosts: tuple[str, ...] = ()) -> TlsFiles:
    """The paths of the TLS files of `settings`, whether or not they exist."""
    folder = settings.tls_path
    return TlsFiles(
        ca=folder / CA_FILE, ca_key=folder / CA_KEY_FILE, broker_cert=folder / BROKER_CERT_FILE,
        broker_key=folder / BROKER_KEY_FILE, keystore=folder / KEYSTORE_FILE, covered_hosts=covered_hosts,
    )


def normalize_host(host: str) -> str:
    """`host` as a certificate names it: an IP address in its canonical form, a DNS name in lower case ASCII.

    Raises `CertificateError` for a string that is neither.
    """
    text = host.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise CertificateError(f"{host!r} is neither an IP address nor a DNS name") from None
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 2:  # a wildcard stands for the leftmost label only
        labels = labels[1:]
    if not name or len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise CertificateError(f"{host!r} is neither an IP address nor a DNS name")
    return name


def wanted_hosts(settings: Settings, hosts: Iterable[str] = ()) -> tuple[str, ...]:
    """Every name the broker's certificate should carry: `kafka_host`, the loopback, this machine's name, `hosts`.

    Each appears once, normalized (`normalize_host`). This machine's name is left out if it is no DNS name.
    """
    names = [normalize_host(settings.kafka_host), *LOOPBACK_HOSTS]
    with contextlib.suppress(CertificateError):
        names.append(normalize_host(socket.gethostname()))
    names.extend(normalize_host(host) for host in hosts)
    return tuple(dict.fromkeys(names))


def ensure_certificates(settings: Settings, *, hosts: Iterable[str] = (), force: bool = False) -> TlsFiles:
    """Make the CA and the broker's certificate unless they are there, and return where they are.

    The broker's certificate is issued again when it is missing, does not name `kafka_host` or one of `hosts`,
    is not the CA's, does not match its key, or ends within 30 days; and always with `force`. Issued again, it
    keeps every name the old one carried, so adding a host never takes one away; with `force` it names only the
    wanted hosts. The CA is made only when `ca.pem` is missing: the clients trust it, so it is never replaced.
    Files that need no change keep their bytes.
    """
    wanted = wanted_hosts(settings, hosts)
    required = {normalize_host(settings.kafka_host), *(normalize_host(host) for host in hosts)}
    files = tls_files(settings)
    folder = settings.tls_path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        with _locked(folder / LOCK_FILE):
            ca_made = not files.ca.is_file()
            if ca_made:
                ca_key, ca_cert = _new_ca()
                _write(files.ca_key, _key_pem(ca_key), 0o600)
                _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
            ca_cert = _load_cert(files.ca)
            current = None if ca_made or force else _usable_broker_cert(files, ca_cert)
            if current is None or not required <= set(_names(current)):
                names = wanted if force else tuple(dict.fromkeys((*wanted, *_old_names(files))))
                broker_key = ec.generate_private_key(ec.SECP256R1())
                current = _new_broker_cert(broker_key, names, _ca_key(files, ca_cert), ca_cert)
                _write(files.broker_key, _key_pem(broker_key), 0o600)
                _write(files.broker_cert, current.public_bytes(serialization.Encoding.PEM), 0o644)
            keystore = files.broker_key.read_bytes() + files.broker_cert.read_bytes() + files.ca.read_bytes()
            if not files.keystore.is_file() or files.keystore.read_bytes() != keystore:
                _write(files.keystore, keystore, 0o600)
    except OSError as error:
        raise CertificateError(f"cannot make the TLS files in {folder}: {error}") from None
    return tls_files(settings, _names(current))


def server_tls_properties(files: TlsFiles) -> dict[str, str]:
    """The Kafka server properties of a TLS listener that presents the broker's certificate.

    PEM key store and trust store: no `ssl.keystore.password` or `ssl.truststore.password` (Kafka refuses them
    with PEM), and no `ssl.key.password`, since the key in the key store is not encrypted. Nodes check each
    other's host names on the listeners between them; clients prove who they are with SCRAM, not certificates.
    """
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(files.keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files.ca),
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.client.auth": "none",
    }


def fingerprint(path: Path) -> str:
    """The SHA-256 fingerprint of the certificate in `path`, as `openssl x509 -fingerprint -sha256` shows it."""
    return _load_cert(path).fingerprint(hashes.SHA256()).hex(":").upper()


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as error:
        raise CertificateError(f"{path} holds no PEM certificate: {error}") from None


def _old_names(files: TlsFiles) -> tuple[str, ...]:
    """The names of the broker's certificate there is, usable or not: a new one keeps them."""
    try:
        return _names(x509.load_pem_x509_certificate(files.broker_cert.read_bytes()))
    except (OSError, ValueError):
        return ()


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses a certificate names, in its order."""
    try:
        alternatives = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    names: list[str] = []
    for entry in alternatives:
        if isinstance(entry, x509.IPAddress):
            names.append(str(entry.value))
        elif isinstance(entry, x509.DNSName):
            names.append(entry.value.lower())
    return tuple(names)


def _usable_broker_cert(files: TlsFiles, ca_cert: x509.Certificate) -> x509.Certificate | None:
    """The broker's certificate if it can stay: signed by this CA, matching its key, not about to end."""
    try:
        cert = x509.load_pem_x509_certificate(files.broker_cert.read_bytes())
        key = serialization.load_pem_private_key(files.broker_key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return None
    if key.public_key() != cert.public_key():
        return None
    if cert.not_valid_after_utc - RENEW_BEFORE < _now():
        return None
    return cert


def _ca_key(files: TlsFiles, ca_cert: x509.Certificate) -> ec.EllipticCurvePrivateKey:
    """The CA's private key, which must be the key of `ca.pem`: a new one would be a CA no client trusts."""
    try:
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except FileNotFoundError:
        raise CertificateError(
            f"the CA's key {files.ca_key} is missing, so no broker certificate can be issued under {files.ca}; "
            f"bring the key back, or remove {files.ca} to make a new CA (and give every client the new ca.pem)"
        ) from None
    except (OSError, ValueError, TypeError) as error:
        raise CertificateError(f"the CA's key {files.ca_key} is unreadable: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != ca_cert.public_key():
        raise CertificateError(f"the CA's key {files.ca_key} is not the key of {files.ca}")
    return key


def _new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ektp-pipeline"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"ektp-pipeline Kafka CA {secrets.token_hex(4)}"),
    ])
    now = _now()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_broker_cert(
    key: ec.EllipticCurvePrivateKey, names: tuple[str, ...], ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
) -> x509.Certificate:
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ektp-pipeline"),
            x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
        ]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + datetime.timedelta(days=BROKER_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_agreement=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([_general_name(name) for name in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _key_usage(
    *, digital_signature: bool = False, key_agreement: bool = False, key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=key_agreement, key_cert_sign=key_cert_sign, crl_sign=crl_sign,
        encipher_only=False, decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """An unencrypted PKCS#8 PEM: what Kafka's PEM key store reads when `ssl.key.password` is unset."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` by `data` at once, the new file having `mode` from its creation on."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temporary.chmod(mode)  # the umask may have taken bits off a 0644
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`: two commands at once never make two CAs."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
