"""TLS for a local run: the certificate and key from settings become the HTTP proxy's HTTPS options, which
Serve's proxy hands to uvicorn unchanged (``ray.serve._private.http_util``). Here uvicorn serves the ingress
app with exactly those options on 127.0.0.1, and a client that trusts only the test's own CA calls it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ray.serve.config import HTTPOptions

from app.core.config import Settings
from cluster.local.stores import free_port
from tests.domain.authkit import TEST_SECRETS, make_app, make_settings


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Rollcall test CA"))
        .issuer_name(_name("Rollcall test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths[2].chmod(0o600)
    return paths


def test_tls_options_come_from_settings_and_suit_serve(tmp_path: Path) -> None:
    assert Settings(**TEST_SECRETS, data_dir=tmp_path).tls_http_options() == {}
    _, cert, key = make_certificates(tmp_path)
    settings = Settings(**TEST_SECRETS, data_dir=tmp_path, tls_certfile=cert, tls_keyfile=key)
    options = settings.tls_http_options()
    assert options == {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    parsed = HTTPOptions(host="127.0.0.1", port=8443, **options)  # what serve.start(http_options=...) takes
    assert (parsed.ssl_certfile, parsed.ssl_keyfile) == (str(cert), str(key))
    with pytest.raises(ValueError, match="go together"):
        Settings(**TEST_SECRETS, data_dir=tmp_path, tls_certfile=cert)


def test_the_local_runner_passes_them_to_serve(tmp_path: Path) -> None:
    from cluster.local.cli import proxy_options

    _, cert, key = make_certificates(tmp_path)
    settings = Settings(**TEST_SECRETS, data_dir=tmp_path, tls_certfile=cert, tls_keyfile=key)
    options, url = proxy_options({"port": 8000}, settings, port=8443)
    assert options == {"port": 8443, "host": "127.0.0.1", "ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    assert url == "https://127.0.0.1:8443"
    plain, plain_url = proxy_options({"port": 8000}, Settings(**TEST_SECRETS, data_dir=tmp_path), port=None)
    assert "ssl_certfile" not in plain and plain_url == "http://127.0.0.1:8000"


def test_the_ingress_answers_over_https_on_loopback(tmp_path: Path) -> None:
    ca, cert, key = make_certificates(tmp_path)
    settings = make_settings(tmp_path, tls_certfile=str(cert), tls_keyfile=str(key))
    port = free_port()
    config = uvicorn.Config(
        make_app(settings), host="127.0.0.1", port=port, log_level="warning", **settings.tls_http_options()
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        trusted = ssl.create_default_context(cafile=str(ca))
        response = httpx.get(f"https://127.0.0.1:{port}/health", verify=trusted, timeout=10)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA refuses the server
            httpx.get(f"https://127.0.0.1:{port}/health", verify=ssl.create_default_context(), timeout=10)
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
