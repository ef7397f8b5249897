"""The broker's TLS files: a CA that is made once, a broker certificate that names every host, a real handshake."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from pipeline.broker import certs
from pipeline.broker.certs import (
    BROKER_DAYS,
    CertificateError,
    TlsFiles,
    ensure_certificates,
    fingerprint,
    normalize_host,
    server_tls_properties,
    wanted_hosts,
)
from pipeline.config import Settings
from pipeline.kafka.security import ca_file, ssl_context

HANDSHAKE_TIMEOUT = 10.0


def settings_in(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(run_dir=tmp_path / "run", tls_dir=tmp_path / "tls", **overrides)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cert_of(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(files: TlsFiles) -> dict[str, bytes]:
    paths = (files.ca, files.ca_key, files.broker_cert, files.broker_key, files.keystore)
    return {path.name: path.read_bytes() for path in paths}


def san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_the_files_are_made_with_private_modes(tmp_path: Path) -> None:
    """A 0700 folder; both keys and the key store 0600; the keys unencrypted PKCS#8 EC P-256."""
    settings = settings_in(tmp_path)
    files = ensure_certificates(settings)
    assert files.ca == ca_file(settings) == tmp_path / "tls" / "ca.pem"
    assert (files.ca_key.name, files.broker_cert.name, files.broker_key.name, files.keystore.name) == (
        "ca.key", "broker.pem", "broker.key", "broker-keystore.pem")
    assert mode(tmp_path / "tls") == 0o700
    for secret in (files.ca_key, files.broker_key, files.keystore):
        assert mode(secret) == 0o600, secret
    for path in (files.ca_key, files.broker_key):
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert isinstance(key.curve, ec.SECP256R1)


def test_the_key_store_is_the_broker_key_then_its_chain(tmp_path: Path) -> None:
    """What Kafka's PEM key store reads from one file: the private key, the broker's certificate, the CA's."""
    files = ensure_certificates(settings_in(tmp_path))
    assert files.keystore.read_bytes() == (
        files.broker_key.read_bytes() + files.broker_cert.read_bytes() + files.ca.read_bytes())
    chain = x509.load_pem_x509_certificates(files.keystore.read_bytes())
    assert chain == [cert_of(files.broker_cert), cert_of(files.ca)]


def test_the_ca_is_a_ten_year_self_signed_ca(tmp_path: Path) -> None:
    files = ensure_certificates(settings_in(tmp_path))
    ca = cert_of(files.ca)
    ca.verify_directly_issued_by(ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert datetime.timedelta(days=3650) <= lifetime <= datetime.timedelta(days=3651)


def test_the_broker_certificate_is_signed_by_the_ca_for_two_years(tmp_path: Path) -> None:
    """It verifies against the CA, is no CA itself, serves and connects (serverAuth, clientAuth), matches its key."""
    files = ensure_certificates(settings_in(tmp_path))
    broker = cert_of(files.broker_cert)
    broker.verify_directly_issued_by(cert_of(files.ca))
    assert not broker.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    key = serialization.load_pem_private_key(files.broker_key.read_bytes(), password=None)
    assert key.public_key() == broker.public_key()
    lifetime = broker.not_valid_after_utc - broker.not_valid_before_utc
    assert datetime.timedelta(days=BROKER_DAYS) <= lifetime <= datetime.timedelta(days=BROKER_DAYS + 1)


def test_the_broker_certificate_names_the_host_the_loopback_this_machine_and_the_extras(tmp_path: Path) -> None:
    """IP addresses as IP entries, names as DNS entries; extras normalized (case, trailing dot, IPv6 form)."""
    settings = settings_in(tmp_path, kafka_host="kafka.internal")
    files = ensure_certificates(settings, hosts=["Broker.Example.org.", "10.1.2.3", "fd00:0::7"])
    names = san(cert_of(files.broker_cert))
    dns = set(names.get_values_for_type(x509.DNSName))
    ips = set(names.get_values_for_type(x509.IPAddress))
    assert {"kafka.internal", "localhost", "broker.example.org", normalize_host(socket.gethostname())} <= dns
    assert ips == {ipaddress.ip_address(address) for address in ("127.0.0.1", "::1", "10.1.2.3", "fd00::7")}
    assert set(files.covered_hosts) == dns | {str(address) for address in ips}
    assert files.covered_hosts[0] == "kafka.internal"
    assert len(files.covered_hosts) == len(set(files.covered_hosts))


def test_a_second_call_keeps_every_file(tmp_path: Path) -> None:
    settings = settings_in(tmp_path, kafka_host="kafka.internal")
    first = ensure_certificates(settings, hosts=["10.1.2.3"])
    before = snapshot(first)
    again = ensure_certificates(settings, hosts=["10.1.2.3"])
    assert again == first
    assert snapshot(again) == before
    assert ensure_certificates(settings) == first  # no extras asked: the ones named before are no reason to change


def test_a_new_host_issues_the_broker_certificate_again_under_the_same_ca(tmp_path: Path) -> None:
    """The CA keeps its bytes; the new certificate names the new host and still every name of the old one."""
    settings = settings_in(tmp_path)
    before = snapshot(ensure_certificates(settings, hosts=["old.example.org"]))
    files = ensure_certificates(settings, hosts=["new.example.org"])
    after = snapshot(files)
    assert after["ca.pem"] == before["ca.pem"]
    assert after["ca.key"] == before["ca.key"]
    assert after["broker.pem"] != before["broker.pem"]
    assert after["broker.key"] != before["broker.key"]
    assert after["broker-keystore.pem"] == after["broker.key"] + after["broker.pem"] + after["ca.pem"]
    assert {"new.example.org", "old.example.org"} <= set(files.covered_hosts)
    cert_of(files.broker_cert).verify_directly_issued_by(cert_of(files.ca))


def test_a_changed_kafka_host_issues_the_broker_certificate_again(tmp_path: Path) -> None:
    before = ensure_certificates(settings_in(tmp_path))
    after = ensure_certificates(settings_in(tmp_path, kafka_host="10.9.8.7"))
    assert "10.9.8.7" not in before.covered_hosts
    assert "10.9.8.7" in after.covered_hosts
    assert after.covered_hosts[0] == "10.9.8.7"
    assert fingerprint(after.ca) == fingerprint(before.ca)


def test_force_issues_again_naming_only_the_hosts_wanted_now(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    before = snapshot(ensure_certificates(settings, hosts=["old.example.org"]))
    files = ensure_certificates(settings, force=True)
    after = snapshot(files)
    assert after["broker.pem"] != before["broker.pem"]
    assert after["ca.pem"] == before["ca.pem"]
    assert files.covered_hosts == wanted_hosts(settings)
    assert "old.example.org" not in files.covered_hosts


def test_a_certificate_near_its_end_is_issued_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_in(tmp_path)
    before = snapshot(ensure_certificates(settings))
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=BROKER_DAYS - 10)
    monkeypatch.setattr(certs, "_now", lambda: later)
    after = snapshot(ensure_certificates(settings))
    assert after["broker.pem"] != before["broker.pem"]
    assert after["ca.pem"] == before["ca.pem"]


def test_a_broker_key_that_is_not_the_certificate_s_issues_both_again(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    files = ensure_certificates(settings)
    stray = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    files.broker_key.write_bytes(stray)
    ensure_certificates(settings)
    key = serialization.load_pem_private_key(files.broker_key.read_bytes(), password=None)
    assert key.public_key() == cert_of(files.broker_cert).public_key()


def test_a_lost_ca_pem_means_a_new_ca_and_a_broker_certificate_under_it(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    files = ensure_certificates(settings)
    old_broker = files.broker_cert.read_bytes()
    files.ca.unlink()
    ensure_certificates(settings)
    assert files.broker_cert.read_bytes() != old_broker
    cert_of(files.broker_cert).verify_directly_issued_by(cert_of(files.ca))


def test_a_lost_ca_key_is_an_error_and_never_a_new_ca(tmp_path: Path) -> None:
    """The clients trust ca.pem: issuing under a new CA would lock them out, so the command says what is missing."""
    settings = settings_in(tmp_path)
    files = ensure_certificates(settings)
    ca = files.ca.read_bytes()
    files.ca_key.unlink()
    assert ensure_certificates(settings) == files  # nothing to issue: the CA's key is not needed
    with pytest.raises(CertificateError, match=r"the CA's key .* is missing"):
        ensure_certificates(settings, hosts=["new.example.org"])
    assert files.ca.read_bytes() == ca
    assert not files.ca_key.exists()


@pytest.mark.parametrize("host", ["bad name", "", "a..b", "-lead.example.org", "x" * 64 + ".org"])
def test_a_host_that_is_no_name_is_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(CertificateError, match="neither an IP address nor a DNS name"):
        ensure_certificates(settings_in(tmp_path), hosts=[host])
    assert not (tmp_path / "tls" / "ca.pem").exists()


def test_server_properties_name_a_key_store_kafka_can_load_and_the_ca(tmp_path: Path) -> None:
    """Kafka's PEM key store: one unencrypted PKCS#8 key, then the broker's certificate, then its issuer."""
    properties = server_tls_properties(ensure_certificates(settings_in(tmp_path)))
    assert properties["ssl.keystore.type"] == properties["ssl.truststore.type"] == "PEM"
    assert "ssl.key.password" not in properties
    assert "ssl.keystore.password" not in properties
    store = Path(properties["ssl.keystore.location"]).read_text()
    assert store.count("-----BEGIN PRIVATE KEY-----") == 1
    assert store.startswith("-----BEGIN PRIVATE KEY-----")
    chain = x509.load_pem_x509_certificates(store.encode())
    ca = x509.load_pem_x509_certificate(Path(properties["ssl.truststore.location"]).read_bytes())
    assert [certificate.subject for certificate in chain] == [chain[0].subject, ca.subject]
    chain[0].verify_directly_issued_by(ca)
    assert properties["ssl.endpoint.identification.algorithm"] == "https"  # nodes check each other's names


@contextlib.contextmanager
def tls_server(certfile: Path, keyfile: Path | None) -> Iterator[int]:
    """A TLS server on a free port of 127.0.0.1 that presents `certfile` to each client and says "ok"."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(HANDSHAKE_TIMEOUT)

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener is closed: the test is over
                return
            with connection:
                connection.settimeout(HANDSHAKE_TIMEOUT)
                with contextlib.suppress(OSError), context.wrap_socket(connection, server_side=True) as tls:
                    tls.sendall(b"ok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread's accept(), which close() alone does not
        listener.close()
        thread.join(HANDSHAKE_TIMEOUT)
        assert not thread.is_alive()


def greeting(port: int, context: ssl.SSLContext, name: str) -> bytes:
    with (socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT) as raw,
          context.wrap_socket(raw, server_hostname=name) as tls):
        return tls.recv(2)


@pytest.mark.parametrize("source", ["cert and key", "key store"])
def test_a_client_trusting_the_ca_completes_a_handshake_only_for_a_named_host(tmp_path: Path, source: str) -> None:
    """Served from broker.pem + broker.key or from the one key store file: "localhost" and 127.0.0.1 pass, a name
    the certificate does not carry fails the client's host name check."""
    files = ensure_certificates(settings_in(tmp_path))
    certfile, keyfile = (files.broker_cert, files.broker_key) if source == "cert and key" else (files.keystore, None)
    client = ssl.create_default_context(cafile=str(files.ca))
    with tls_server(certfile, keyfile) as port:
        assert greeting(port, client, "localhost") == b"ok"
        assert greeting(port, client, "127.0.0.1") == b"ok"
        with pytest.raises(ssl.SSLCertVerificationError, match="match"):
            greeting(port, client, "elsewhere.example.org")


def test_the_project_s_client_context_accepts_the_broker_and_refuses_another_ca(tmp_path: Path) -> None:
    """`pipeline.kafka.security.ssl_context`, what every client connects with, trusts this CA and no other."""
    settings = settings_in(tmp_path, kafka_tls=True)
    files = ensure_certificates(settings)
    other = ensure_certificates(settings_in(tmp_path / "other"))
    with tls_server(files.broker_cert, files.broker_key) as port:
        assert greeting(port, ssl_context(settings), settings.kafka_host) == b"ok"
    with tls_server(other.broker_cert, other.broker_key) as port, pytest.raises(ssl.SSLCertVerificationError):
        greeting(port, ssl_context(settings), settings.kafka_host)
