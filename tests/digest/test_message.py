"""Messages as bytes: what the standard parser reads back must be exactly what was meant."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import pytest

from sectorwatch.config import parse_config
from sectorwatch.digest.message import Composer, header_block, mime_body
from sectorwatch.digest.render import Rendered

SETTINGS = parse_config("sources: []\n", "t.yaml").digest
TEXT = ("CHILDREN'S SERVICES THIS WEEK\n.\nA line ending in spaces   \n"
        "Résumé — “quotes”, £5m and ✓\n" + "word " * 40 + "\n--\n==sw-fake==\n")
HTML = "<p>Résumé — £5m</p>\n" + "<p>x</p>" * 3000


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


def digest(fmt: str = "html", name: str = "Jo Bloggs", subject: str = "Weekly") -> bytes:
    rendered = Rendered(subject, "pre", HTML, TEXT)
    return Composer(SETTINGS).digest(rendered, key="k", to="jo@example.org", name=name,
                                     token="TOK", msg_id="<id@sectorwatch.example.org>",
                                     fmt=fmt, now=datetime(2026, 11, 23, 8, tzinfo=UTC)).data


def test_parts_decode_to_exactly_what_was_rendered():
    msg = parse(digest())
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = msg.iter_parts()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert plain.get_content().replace("\r\n", "\n") == TEXT and html.get_content() == HTML
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"


def test_every_wire_line_is_short_and_crlf_ended():
    data = digest()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    assert data.isascii()


def test_list_headers_are_all_there_once():
    msg = parse(digest())
    for name in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Id",
                 "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"):
        assert len(msg.get_all(name)) == 1, name
    assert msg["List-Unsubscribe"] == ("<https://sectorwatch.example.org/u/TOK>, "
                                       "<mailto:unsubscribe@sectorwatch.example.org?subject=TOK>")
    assert msg["To"] == "Jo Bloggs <jo@example.org>"
    assert msg["Date"] == "Mon, 23 Nov 2026 08:00:00 +0000"


def test_a_text_reader_gets_text_only():
    msg = parse(digest(fmt="text"))
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == TEXT


@pytest.mark.parametrize("payload", [
    "Jo\r\nBcc: evil@example.com", "Jo\u2028Bcc: evil@example.com",
    "=?UTF-8?Q?=0A?=Bcc: injected@example.com", "Jo\x85Bcc: e@x.org", "Jo\x00\x0c",
])
def test_injection_in_a_name_or_subject_stays_text(payload):
    msg = parse(digest(name=payload, subject=payload))
    assert msg["Bcc"] is None and len(msg.get_all("To")) == 1
    assert msg["To"].addresses[0].addr_spec == "jo@example.org"
    assert len(msg.get_all("Subject")) == 1


def test_raw_header_values_are_still_checked():
    with pytest.raises(ValueError):
        header_block([("Subject", "a\nBcc: x@y.org")])


def test_text_only_body_without_html():
    content_type, body = mime_body("hello\n", None)
    assert content_type.startswith(b"Content-Type: text/plain") and body == b"hello\r\n"
