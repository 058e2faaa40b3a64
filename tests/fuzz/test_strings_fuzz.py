"""Scraped strings that reach mail headers and HTML: control characters, encoded words,
bidi marks. A header stays one header; HTML escapes what it shows; tokens never crash."""

from __future__ import annotations

from email import message_from_bytes, policy

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from sectorwatch.digest.message import header_block, mailbox
from sectorwatch.digest.render import clean_header_text
from sectorwatch.tokens import Signer

HOSTILE = st.lists(st.sampled_from(
    [*"ab <>&\"'\r\n\t\x00\x0b\x1b\u202e\u2028\u0085é=?:",
     "=?UTF-8?Q?=0A?=", "=?utf-8?b?QmNjOg==?=", "\r\nBcc: x@example.org", "Subject:"]),
    max_size=40).map("".join)


@given(HOSTILE, HOSTILE)
def test_scraped_text_in_a_subject_or_a_name_is_one_header(subject, name):
    raw = header_block([("To", mailbox(clean_header_text(name, 80), "reader@example.org")),
                        ("Subject", clean_header_text(subject))]) + b"\r\nbody\r\n"
    message = message_from_bytes(raw, policy=policy.default)
    assert sorted(message.keys()) == ["Subject", "To"]
    assert message["To"].addresses[0].addr_spec == "reader@example.org"


@given(HOSTILE)
def test_html_escapes_what_it_shows(text):
    shown = str(escape(text))
    assert "<" not in shown and ">" not in shown


@given(st.text(max_size=200))
def test_forged_tokens_are_refused_not_crashed(token):
    signer = Signer((b"k" * 32,))
    for purpose in ("unsubscribe", "manage", "confirm"):
        assert signer.verify(purpose, token) is None
