"""SMTP over TLS against aiosmtpd on 127.0.0.1: certificates are verified, the password
comes from the environment, and nothing falls back to plain text."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sectorwatch.config import parse_config
from sectorwatch.digest.message import Outgoing
from sectorwatch.digest.transport import SendError, SmtpTransport

MESSAGE = Outgoing("k", "digest@sectorwatch.example.org", "jo@example.org",
                   b"Subject: hi\r\nTo: jo@example.org\r\n\r\nhello\r\n")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (its own CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class Inbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.original_content)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)


@pytest.fixture
def server(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    started: list[Controller] = []

    def start(implicit: bool = False) -> tuple[Inbox, int]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        inbox = Inbox()
        options = ({"ssl_context": context} if implicit else
                   {"tls_context": context, "require_starttls": True})
        # aiosmtpd 1.4.6 does not count implicit TLS as TLS for auth_require_tls
        controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                authenticator=inbox.authenticate,
                                auth_require_tls=not implicit, **options)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for c in started:
        c.stop()


def transport(port: int, security: str, ca_file: Path | None = None, username: str = "digest"
              ) -> SmtpTransport:
    ca = f", ca_file: '{ca_file}'" if ca_file else ""
    user = f", username: {username}" if username else ""
    config = parse_config(f"""digest:
  smtp: {{host: 127.0.0.1, port: {port}, security: {security}, rate: 1000{ca}{user}}}
sources: []
""", "t.yaml")
    return SmtpTransport(config.digest.smtp)


@pytest.mark.parametrize("implicit", [False, True])
def test_an_untrusted_certificate_stops_the_run(server, implicit):
    inbox, port = server(implicit)
    with pytest.raises(SendError) as info:
        transport(port, "tls" if implicit else "starttls").send(MESSAGE)
    assert info.value.fatal and "not trusted" in info.value.message
    assert "ca_file" in info.value.hint and inbox.received == []


@pytest.mark.parametrize("implicit", [False, True])
def test_a_trusted_certificate_and_the_password_from_the_environment(
        server, certificate, monkeypatch, implicit):
    inbox, port = server(implicit)
    monkeypatch.setenv("SECTORWATCH_SMTP_PASSWORD", "s3cret")
    sender = transport(port, "tls" if implicit else "starttls", certificate[0])
    sender.send(MESSAGE)
    sender.close()
    assert inbox.logins == [(b"digest", b"s3cret")] and len(inbox.received) == 1


def test_a_missing_or_wrong_password_stops_the_run(server, certificate, monkeypatch):
    _inbox, port = server()
    monkeypatch.delenv("SECTORWATCH_SMTP_PASSWORD", raising=False)
    with pytest.raises(SendError) as info:
        transport(port, "starttls", certificate[0]).send(MESSAGE)
    assert info.value.fatal and "SECTORWATCH_SMTP_PASSWORD" in info.value.message
    monkeypatch.setenv("SECTORWATCH_SMTP_PASSWORD", "wrong")
    with pytest.raises(SendError) as info:
        transport(port, "starttls", certificate[0]).send(MESSAGE)
    assert info.value.fatal and "login refused" in info.value.message


def test_no_plain_text_fallback_when_starttls_is_missing(smtp_plain):
    with pytest.raises(SendError) as info:
        transport(smtp_plain, "starttls", username="").send(MESSAGE)
    assert info.value.fatal and "STARTTLS" in info.value.message


@pytest.fixture
def smtp_plain():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()
