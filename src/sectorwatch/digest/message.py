"""Email messages as the bytes that go on the wire, with every header a list mail needs.

Headers are made (and checked: no CR/LF, encoded-words where needed) by the standard
library's email package; headers the same for every reader are made once per run. Bodies
are encoded by C codecs (quoted-printable text, base64 HTML): the email package's pure
Python encoders cost more than everything else in a message put together.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from sectorwatch.config import DigestSettings
from sectorwatch.digest.render import Rendered, clean_header_text

CRLF = b"\r\n"


@dataclass(frozen=True)
class Outgoing:
    """One message ready to hand to a transport."""

    key: str
    """Names it in the outbox and in logs (no personal data)."""
    sender: str
    recipient: str
    data: bytes
    html: str | None = None
    """The HTML part as text, for the outbox's copy to look at."""


def message_id(settings: DigestSettings) -> str:
    """A Message-ID on our own domain (never the host's name)."""
    return make_msgid(domain=parseaddr(settings.from_address)[1].rpartition("@")[2])


def unsubscribe_url(settings: DigestSettings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/u/{token}"


def manage_url(settings: DigestSettings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/m/{token}"


def header_block(headers: list[tuple[str, object]]) -> bytes:
    """Headers folded for SMTP (CRLF), without the blank line that ends them. Values are
    checked by the email package: a CR or LF in one raises ValueError."""
    msg = EmailMessage(policy=SMTP)
    for name, value in headers:
        msg[name] = value
    return msg.as_bytes().rstrip(CRLF) + CRLF


def mime_body(text: str, html: str | None) -> tuple[bytes, bytes]:
    """(the Content-Type header lines, the body): text/plain alone, or
    multipart/alternative with the text first and the HTML last."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    plain = binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", CRLF)
    text_type = (b'Content-Type: text/plain; charset="utf-8"' + CRLF +
                 b"Content-Transfer-Encoding: quoted-printable" + CRLF)
    if html is None:
        return text_type, plain
    # '=' never stands twice in quoted-printable or inside base64, so no part can hold
    # this boundary
    boundary = f"==sw-{secrets.token_hex(10)}==".encode()
    encoded = base64.encodebytes(html.encode("utf-8")).replace(b"\n", CRLF)
    body = b"".join([
        b"--", boundary, CRLF, text_type, CRLF, plain, CRLF,
        b"--", boundary, CRLF, b'Content-Type: text/html; charset="utf-8"', CRLF,
        b"Content-Transfer-Encoding: base64", CRLF, CRLF, encoded,
        b"--", boundary, b"--", CRLF])
    return b'Content-Type: multipart/alternative; boundary="' + boundary + b'"' + CRLF, body


class Composer:
    """Builds one run's digest messages."""

    def __init__(self, settings: DigestSettings):
        self.settings = settings
        self.sender = parseaddr(settings.from_address)[1]
        self._fixed = header_block([
            ("From", settings.from_address), ("Reply-To", settings.reply_to),
            ("List-Id", settings.list_id),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Precedence", "bulk"), ("MIME-Version", "1.0")])

    def digest(self, rendered: Rendered, *, key: str, to: str, name: str, token: str,
               msg_id: str, fmt: str = "html", now: datetime | None = None) -> Outgoing:
        """One reader's digest: multipart/alternative, or text only for a text reader.
        ``token`` is the reader's signed unsubscribe token."""
        s = self.settings
        html = rendered.html if fmt == "html" else None
        content_type, body = mime_body(rendered.text, html)
        head = header_block([
            ("To", Address(display_name=clean_header_text(name, 80), addr_spec=to)),
            ("Subject", clean_header_text(rendered.subject)),
            ("Date", format_datetime(now or datetime.now().astimezone())),
            ("Message-ID", msg_id),
            ("List-Unsubscribe", f"<{unsubscribe_url(s, token)}>, "
                                 f"<mailto:{s.unsubscribe_mailto}?subject={token}>")])
        return Outgoing(key, self.sender, to,
                        b"".join([head, self._fixed, content_type, CRLF, body]), html)


def notice(settings: DigestSettings, *, key: str, to: str, subject: str, text: str,
           html: str | None = None, now: datetime | None = None) -> Outgoing:
    """A one-off message to one address (a subscription confirmation): no list headers,
    marked as automatically generated (RFC 3834) so nobody's autoresponder answers it."""
    content_type, body = mime_body(text, html)
    head = header_block([
        ("From", settings.from_address), ("Reply-To", settings.reply_to),
        ("To", Address(addr_spec=to)), ("Subject", clean_header_text(subject)),
        ("Date", format_datetime(now or datetime.now().astimezone())),
        ("Message-ID", message_id(settings)), ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0")])
    return Outgoing(key, parseaddr(settings.from_address)[1], to,
                    b"".join([head, content_type, CRLF, body]), html)
