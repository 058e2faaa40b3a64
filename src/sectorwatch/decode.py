"""Bytes → str: the HTTP charset, then the document's own declaration, then detection."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""")
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13))
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def header_charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, if it names a known codec."""
    m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type or "", re.IGNORECASE)
    return _known(m.group(1)) if m else None


def declared_charset(body: bytes) -> str | None:
    """An HTML <meta charset> or XML declaration in the first 4 KB."""
    head = body[:4096]
    m = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return _known(m.group(1).decode("ascii", "ignore")) if m else None


def decode(body: bytes, content_type: str = "") -> tuple[str, str]:
    """(text, encoding used). Never raises: undecodable bytes become U+FFFD."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace").lstrip("\ufeff"), name
    for label in (header_charset(content_type), declared_charset(body)):
        if label:
            try:
                return body.decode(label), label
            except UnicodeDecodeError:
                continue  # a wrong label is common; fall through to detection
    return detect(body)


def detect(body: bytes) -> tuple[str, str]:
    """No usable label: UTF-8 if valid, else windows-1252 (WHATWG's fallback for en-GB),
    else whatever charset-normalizer finds."""
    for name in ("utf-8", "cp1252"):
        try:
            return body.decode(name), name
        except UnicodeDecodeError:
            pass
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return str(best), best.encoding
    return body.decode("utf-8", errors="replace"), "utf-8"


def strip_controls(body: bytes) -> bytes:
    """Drop C0 control bytes that make XML parsers give up (e.g. a stray ESC)."""
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x1f\x8b")):
        return body  # UTF-16 and gzip bytes legitimately hold such values
    return body.translate(None, _CONTROL)


def _known(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # WHATWG: pages labelled latin-1 / ascii are decoded as windows-1252.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name
