"""Email messages as the bytes that go on the wire, with every header a list mail needs.

Structured headers (addresses, Message-ID, List-Id, List-Unsubscribe) are written here:
printable ASCII only, folded only at their spaces, never as RFC 2047 encoded words (the
email package encodes a long URL or address into encoded words, which hides
List-Unsubscribe from mail providers); only a non-ASCII display name is encoded.
Date is printable ASCII by construction and written here too. Subject is made by the
standard library's email package, once per distinct subject. Headers the same for every
reader are made once per run. Bodies are encoded by C codecs
(quoted-printable text, base64 HTML): the email package's pure Python encoders cost more
than everything else in a message put together.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.charset import Charset
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from sectorwatch.config import DigestSettings
from sectorwatch.digest.render import Rendered, clean_header_text

CRLF = b"\r\n"
LINE = 78  # RFC 5322's advice; a word longer than this stays whole
MAX_LINE = 998  # RFC 5322's limit for any line
STRUCTURED = frozenset({"from", "to", "reply-to", "message-id", "list-id", "list-unsubscribe",
                        "date"})
_PRINTABLE = re.compile(r"[\x20-\x7e]+")
_FOLD = re.compile(r"(?<=\S) (?=\S)")  # a single space between words: a safe fold point
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")  # a phrase that needs no quotes
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_URL = re.compile(r"https?://[\x21-\x7e]+")
_QUOTED_LOCAL = re.compile(r'"[\x21\x23-\x5b\x5d-\x7e]+"')  # no space: never folded inside
_UTF8 = Charset("utf-8")


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
    return make_msgid(domain=_ascii_domain(parseaddr(settings.from_address)[1]
                                           .rpartition("@")[2]))


def unsubscribe_url(settings: DigestSettings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/u/{token}"


def manage_url(settings: DigestSettings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/m/{token}"


def mailto_address(settings: DigestSettings) -> str | None:
    """The address advertised for unsubscribing by email: only when sectorwatch reads its
    mailbox, since a request nobody reads leaves the reader subscribed."""
    return settings.unsubscribe_mailto if settings.unsubscribe_mailbox.type != "none" \
        else None


def list_unsubscribe(settings: DigestSettings, token: str) -> str:
    """The List-Unsubscribe value: the https URL (RFC 8058 one-click), then the mailto
    when its mailbox is read. ValueError for a URL or address that cannot go in a header."""
    url = unsubscribe_url(settings, token)
    if not _URL.fullmatch(url) or any(c in url for c in '<>"'):
        raise ValueError(f"digest.base_url cannot go in a header as it is: {url!r}")
    parts = [f"<{url}>"]
    if (mailto := mailto_address(settings)) is not None:
        parts.append(f"<mailto:{addr_spec(mailto)}?subject={token}>")
    return ", ".join(parts)


def addr_spec(address: str) -> str:
    """An address for a header: ASCII, its domain as IDNA A-labels. ValueError for one
    that needs SMTPUTF8 (a non-ASCII local part) or is not a plain address."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an email address: {address!r}")
    if not (_DOT_ATOM.fullmatch(local) or _QUOTED_LOCAL.fullmatch(local)):
        raise ValueError(f"the address {address!r} needs SMTPUTF8 or is not plain ASCII")
    return f"{local}@{_ascii_domain(domain)}"


def mailbox(name: str, address: str) -> str:
    """``Name <address>`` (or the bare address without a name), the name quoted or
    encoded as it needs, the address never encoded."""
    spec = addr_spec(address)
    return f"{phrase(name)} <{spec}>" if name.strip() else spec


def parse_mailbox(text: str) -> str:
    """A configured ``Name <address>`` (or bare address) as :func:`mailbox` writes it."""
    name, address = parseaddr(text)
    if not address:
        raise ValueError(f"not an email address: {text!r}")
    return mailbox(name, address)


def list_id(text: str) -> str:
    """A configured ``Description <id.example.org>`` as a List-Id value (RFC 2919)."""
    found = re.fullmatch(r"\s*(.*?)\s*<([^<>\s]+)>\s*", text)
    if not found or not _DOT_ATOM.fullmatch(found[2]):
        raise ValueError(f"digest.list_id must be 'Name <list.id.example.org>': {text!r}")
    name, ident = found.groups()
    return f"{phrase(name)} <{ident}>" if name else f"<{ident}>"


@functools.lru_cache(maxsize=4096)
def phrase(text: str) -> str:
    """A display name: bare atoms, a quoted string, or, with non-ASCII, its plain words as
    atoms and each run of other words as encoded words, separated by spaces so the line
    can fold between them."""
    text = " ".join(text.split())
    if text.isascii():
        if _ATEXT.fullmatch(text) and "=?" not in text:
            return text
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    parts: list[str] = []
    run: list[str] = []
    for word in [*text.split(" "), None]:
        if word is not None and not (_ATEXT.fullmatch(word) and "=?" not in word):
            run.append(word)
            continue
        if run:  # a decoder drops the space between encoded words, so spaces go inside
            parts.extend(_encoded_words(" ".join(run)))
            run = []
        if word is not None:
            parts.append(word)
    return " ".join(parts)


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 encoded words of at most 60 characters (the RFC allows 75; 60
    fits a line after "Reply-To: "), split after a space where one is near."""
    words: list[str] = []
    while text:
        cut = 1
        while cut < len(text) and len(_UTF8.header_encode(text[:cut + 1])) <= 60:
            cut += 1
        if cut < len(text) and " " in text[:cut]:
            cut = text.rindex(" ", 0, cut) + 1
        words.append(_UTF8.header_encode(text[:cut]))
        text = text[cut:]
    return words


def fold(name: str, value: str) -> bytes:
    """``Name: value`` and CRLF, folded only at single spaces between words (unfolding
    gives back exactly ``value``); a word longer than a line is kept whole. ValueError for
    anything but printable ASCII, or a word too long for any line."""
    if not _PRINTABLE.fullmatch(value):
        raise ValueError(f"{name}: only printable ASCII may go in this header")
    lines = [f"{name}:"]
    for word in _FOLD.split(value):
        if len(lines[-1]) + 1 + len(word) <= LINE or lines[-1] == f"{name}:":
            lines[-1] += " " + word
        else:
            lines.append(" " + word)
        if len(lines[-1]) > MAX_LINE:
            raise ValueError(f"{name}: a word too long for a header line")
    return "\r\n".join(lines).encode("ascii") + CRLF


def header_block(headers: list[tuple[str, str]]) -> bytes:
    """Headers folded for SMTP (CRLF), without the blank line that ends them. Structured
    ones are written by :func:`fold`; the rest by the email package, which encodes
    non-ASCII text. Either way a CR or LF in a value raises ValueError."""
    return b"".join(fold(name, value) if name.lower() in STRUCTURED else _encoded(name, value)
                    for name, value in headers)


@functools.lru_cache(maxsize=1024)
def _encoded(name: str, value: str) -> bytes:
    """One unstructured header as the email package writes it (a whole issue's readers
    mostly share a few subjects, so each is made once)."""
    msg = EmailMessage(policy=SMTP)
    msg[name] = value
    return msg.as_bytes().rstrip(CRLF) + CRLF


def _base64_lines(data: bytes) -> bytes:
    """``data`` in base64, 76 characters a line, each line ended by CRLF."""
    encoded = base64.b64encode(data)
    return b"".join(encoded[k:k + 76] + CRLF for k in range(0, len(encoded), 76))


def _ascii_domain(domain: str) -> str:
    """A domain as IDNA A-labels (exämple.org → xn--exmple-cua.org)."""
    try:
        return domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"not a usable domain: {domain!r}") from None


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
    encoded = _base64_lines(html.encode("utf-8"))
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
        list_unsubscribe(settings, "x" * 60)  # a base_url unfit for a header fails now
        self._fixed = header_block([
            ("From", parse_mailbox(settings.from_address)),
            ("Reply-To", parse_mailbox(settings.reply_to)),
            ("List-Id", list_id(settings.list_id)),
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
            ("To", mailbox(clean_header_text(name, 80), to)),
            ("Subject", clean_header_text(rendered.subject)),
            ("Date", format_datetime(now or datetime.now().astimezone())),
            ("Message-ID", msg_id),
            ("List-Unsubscribe", list_unsubscribe(s, token))])
        return Outgoing(key, self.sender, to,
                        b"".join([head, self._fixed, content_type, CRLF, body]), html)


def notice(settings: DigestSettings, *, key: str, to: str, subject: str, text: str,
           html: str | None = None, now: datetime | None = None) -> Outgoing:
    """A one-off message to one address (a subscription confirmation): no list headers,
    marked as automatically generated (RFC 3834) so nobody's autoresponder answers it."""
    content_type, body = mime_body(text, html)
    head = header_block([
        ("From", parse_mailbox(settings.from_address)),
        ("Reply-To", parse_mailbox(settings.reply_to)),
        ("To", addr_spec(to)), ("Subject", clean_header_text(subject)),
        ("Date", format_datetime(now or datetime.now().astimezone())),
        ("Message-ID", message_id(settings)), ("Auto-Submitted", "auto-generated"),
        ("MIME-Version", "1.0")])
    return Outgoing(key, parseaddr(settings.from_address)[1], to,
                    b"".join([head, content_type, CRLF, body]), html)
