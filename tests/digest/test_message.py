"""Messages as bytes: what the standard parser reads back must be exactly what was meant."""

from __future__ import annotations

import email
import re
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
    assert msg["List-Unsubscribe"] == "<https://sectorwatch.example.org/u/TOK>"
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


# -- structured headers on the wire ------------------------------------------------------

BASE = ("https://children-and-families-news.some-county-council.example.gov.uk/"
        "sector-digest/weekly")
LIST_ID = ("Children's services weekly from the County Council "
           "<weekly-digest.children-and-families-news.some-county-council.example.gov.uk>")
FROM = "Sector news <digest@children-and-families-news.some-county-council.example.gov.uk>"
REPLY_TO = "editor.children-and-families@children-and-families-news.example.gov.uk"
LONG_NAME = "Jo Bloggs-Smithington of the County Council Children's Services Directorate"
READER = "jo.bloggs-smithington@children-and-families.some-county-council.example.gov.uk"


def wire_headers(data: bytes) -> dict[str, list[list[bytes]]]:
    """Each header's physical lines as they are on the wire, by lower-cased name."""
    out: dict[str, list[list[bytes]]] = {}
    current: list[bytes] = []
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            current.append(line)
        else:
            current = [line]
            out.setdefault(line.split(b":", 1)[0].decode().lower(), []).append(current)
    return out


def assert_structured(data: bytes, name: str, value: str | re.Pattern) -> None:
    """``name`` is there once, unfolds to exactly ``value``, holds no encoded word, and
    folds only at spaces: a line over 78 octets is one word that cannot be broken."""
    [lines] = wire_headers(data)[name.lower()]
    raw = b"\r\n".join(lines)
    assert b"=?" not in raw, raw
    unfolded = raw.replace(b"\r\n", b"").decode("ascii")
    assert unfolded.startswith(f"{name}: ")
    got = unfolded.removeprefix(f"{name}: ")
    assert re.fullmatch(value, got) if isinstance(value, re.Pattern) else got == value
    for k, line in enumerate(lines):
        assert len(line) <= 998
        words = line[len(name) + 2:] if k == 0 else line[1:]
        assert len(line) <= 78 or b" " not in words, f"foldable line over 78: {line!r}"


@pytest.fixture
def long_config(tmp_path):
    def make(transport: str, port: int = 0, extra: str = ""):
        return parse_config(f"""database_url: "sqlite:///{tmp_path / 'wire.db'}"
digest:
  from_address: "{FROM}"
  reply_to: "{REPLY_TO}"
  list_id: "{LIST_ID}"
  base_url: "{BASE}"
  transport: {transport}
  outbox_dir: "{tmp_path / 'outbox'}"
  smtp: {{host: 127.0.0.1, port: {port or 25}, security: none, rate: 1000}}
{extra}
sources: []
""", "wire.yaml")
    return make


def send_one(config, transport) -> tuple[str, str]:
    """Send this week's issue to one reader with a long name and address; (their signed
    unsubscribe token, the Message-ID the delivery log holds)."""
    from sectorwatch.digest.delivery import send_issue
    from sectorwatch.digest.subscribers import SubscriberSpec
    from sectorwatch.store import Store
    from sectorwatch.tokens import signer_from_env

    with Store.open(config.database_url) as store:
        store.save_subscriber(SubscriberSpec(READER, LONG_NAME))
        [(_, _, key)] = store.subscriber_rows("active")
        report = send_issue(config, store, transport, SEND_AT, entries=[])
        assert report.sent == 1, report
    signer = signer_from_env(config.web.secret_env)
    return signer.sign("unsubscribe", key), key


SEND_AT = datetime(2026, 11, 23, 8, tzinfo=UTC)


def check_wire(data: bytes, token: str, mailto: str | None = None) -> None:
    assert len(token) >= 55  # a real signed token: stored key, a dot, the MAC
    assert f"<{BASE}/u/{token}>".encode() in data.replace(b"\r\n ", b" ")
    unsubscribe = f"<{BASE}/u/{token}>" + (f", <mailto:{mailto}?subject={token}>"
                                            if mailto else "")
    assert_structured(data, "List-Unsubscribe", unsubscribe)
    assert_structured(data, "List-Id", LIST_ID)
    assert_structured(data, "From", FROM)
    assert_structured(data, "Reply-To", REPLY_TO)
    assert_structured(data, "To", f"{LONG_NAME} <{READER}>")
    assert_structured(data, "Message-ID", re.compile(
        r"<[^\s<>@]+@children-and-families-news\.some-county-council\.example\.gov\.uk>"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_list_unsubscribe_reaches_the_smtp_server_as_a_literal_https_url(
        smtp, long_config):
    from sectorwatch.digest.transport import SmtpTransport

    inbox, port = smtp()
    config = long_config("smtp", port, "  send_empty: true")
    token, _ = send_one(config, SmtpTransport(config.digest.smtp))
    [data] = inbox.raw
    check_wire(data, token)
    assert parse(data)["List-Unsubscribe"] == f"<{BASE}/u/{token}>"


def test_list_unsubscribe_in_the_outbox_eml_is_a_literal_https_url(long_config, tmp_path):
    from sectorwatch.digest.transport import transport_for

    config = long_config("outbox", extra="  send_empty: true")
    token, _ = send_one(config, transport_for(config.digest))
    [eml] = (tmp_path / "outbox").glob("*.eml")
    check_wire(eml.read_bytes(), token)


def test_a_non_ascii_display_name_is_encoded_but_its_address_never_is():
    settings = parse_config(f'digest:\n  from_address: "Nouvelles Sectorwatch Ünïcode '
                            f'<digest@xn--exmple-cua.org>"\n  base_url: "{BASE}"\n',
                            "t.yaml").digest
    data = Composer(settings).digest(
        Rendered("Weekly", "pre", HTML, TEXT), key="k", to="jo@exämple.org",
        name="Jöhanna Blöggs-Smithington de la Côte d'Ivoire et du Royaume-Uni",
        token="T" * 55, msg_id="<id@xn--exmple-cua.org>").data
    headers = wire_headers(data)
    for name, address in (("to", b"<jo@xn--exmple-cua.org>"),
                          ("from", b"<digest@xn--exmple-cua.org>")):
        [lines] = headers[name]
        raw = b"\r\n".join(lines)
        assert raw.endswith(address) and b"=?" not in raw[raw.index(b"<"):]
        assert all(len(line) <= 78 for line in lines), lines
    msg = parse(data)
    assert msg["To"].addresses[0].display_name == \
        "Jöhanna Blöggs-Smithington de la Côte d'Ivoire et du Royaume-Uni"
    assert msg["To"].addresses[0].addr_spec == "jo@xn--exmple-cua.org"
    assert msg["From"].addresses[0].display_name == "Nouvelles Sectorwatch Ünïcode"


def test_a_long_non_ascii_name_is_encoded_words_that_decode_to_it_exactly():
    from email.header import decode_header, make_header

    from sectorwatch.digest.message import mailbox

    name = "東京都庁 子ども家庭局 ニュース配信サービス 週刊ダイジェスト Žžžžž Ššššš"
    [lines] = wire_headers(header_block([("To", mailbox(name, "jo@example.org"))]))["to"]
    assert all(len(line) <= 78 for line in lines) and len(lines) > 1
    value = b"".join(lines).decode("ascii").removeprefix("To: ")
    shown, address = value.rsplit(" ", 1)
    assert address == "<jo@example.org>"
    # RFC 2047 decoding (the space between two encoded words is not text)
    assert str(make_header(decode_header(shown))) == name


def test_the_mailto_is_offered_only_while_its_mailbox_is_read(tmp_path):
    rendered = Rendered("Weekly", "pre", HTML, TEXT)
    off = parse_config("sources: []\n", "t.yaml").digest
    on = parse_config(f"digest:\n  unsubscribe_mailbox: {{type: maildir, maildir: "
                      f"'{tmp_path}'}}\n", "t.yaml").digest
    got = {}
    for label, settings in (("off", off), ("on", on)):
        data = Composer(settings).digest(rendered, key="k", to="jo@example.org", name="Jo",
                                         token="TOK", msg_id="<id@example.org>").data
        got[label] = parse(data)["List-Unsubscribe"]
    assert got["off"] == "<https://sectorwatch.example.org/u/TOK>"
    assert got["on"] == ("<https://sectorwatch.example.org/u/TOK>, "
                         "<mailto:unsubscribe@sectorwatch.example.org?subject=TOK>")


def test_with_a_mailbox_both_unsubscribe_urls_reach_the_server_literally(
        smtp, long_config, tmp_path):
    from sectorwatch.digest.transport import SmtpTransport

    inbox, port = smtp()
    config = long_config("smtp", port, f"""  send_empty: true
  unsubscribe_mailto: "unsubscribe@children-and-families-news.example.gov.uk"
  unsubscribe_mailbox: {{type: maildir, maildir: "{tmp_path / 'Maildir'}"}}""")
    token, _ = send_one(config, SmtpTransport(config.digest.smtp))
    [data] = inbox.raw
    check_wire(data, token, "unsubscribe@children-and-families-news.example.gov.uk")
