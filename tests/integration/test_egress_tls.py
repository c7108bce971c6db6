"""The SSRF guard connects to the checked address yet still verifies TLS for the host name."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from isegoria.integrations import egress

HOST = "hooks.forum.example"  # unknown to real DNS: only the guard's resolver knows it


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[int, list[str], Path]]:
    """An HTTPS receiver on 127.0.0.1 presenting a certificate for HOST; records Host."""
    cert, key = _certificate(tmp_path, HOST)
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hosts, cert
    server.shutdown()
    server.server_close()


def _client(trusted: Path) -> httpx.Client:
    return egress.guarded_client(
        allow_private=True,
        resolver=lambda host, port: ["127.0.0.1"],
        verify=ssl.create_default_context(cafile=str(trusted)),
        timeout=5,
    )


def test_tls_names_the_host_while_the_connection_goes_to_the_checked_address(
    receiver: tuple[int, list[str], Path],
) -> None:
    port, hosts, cert = receiver
    with _client(cert) as client:
        response = client.post(f"https://{HOST}:{port}/hook", content=b"{}")
    assert response.status_code == 204
    assert hosts == [f"{HOST}:{port}"]


def test_a_certificate_for_another_name_is_still_refused(
    receiver: tuple[int, list[str], Path], tmp_path: Path
) -> None:
    port, hosts, cert = receiver
    # The receiver's certificate is trusted, but it names HOST, not the name asked for.
    with _client(cert) as client:
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            client.post(f"https://other.forum.example:{port}/hook", content=b"{}")
    assert hosts == []
