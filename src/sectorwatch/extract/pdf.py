"""PDF documents (Ofsted letters, council committee papers): text with pypdf."""

from __future__ import annotations

import io
import re
from collections import Counter

from sectorwatch.errors import ExtractError
from sectorwatch.extract.metadata import dateline
from sectorwatch.extract.text import clean, fingerprint, lead, squash, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.urls import canonicalize

MAX_PAGES = 200
MAX_TEXT = 200_000
_BULLET = re.compile(r"^\s*([•▪◦‣●○■□–-]|\d+[.)]|[a-z][.)])\s+")
_PAGE_NO = re.compile(r"^\s*(page\s*)?\d+(\s*(of|/)\s*\d+)?\s*$", re.I)


def extract_pdf(page: Page, link: Link) -> Article:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(page.body), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("the PDF is encrypted", url=page.final_url)
        pages = [p.extract_text() or "" for p in reader.pages[:MAX_PAGES]]
        info = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractError(f"unreadable PDF: {exc}", url=page.final_url) from None
    text = clean("\n\n".join(paragraphs(pages)))[:MAX_TEXT]
    if word_count(text) < 5:
        raise ExtractError("the PDF has no text layer (a scan?)", url=page.final_url)
    title = str(info.get("/Title") or "").strip() or link.title or text.split("\n\n", 1)[0]
    when = link.published
    signal = "feed" if when else ""
    if when is None and (when := _pdf_date(info.get("/CreationDate"))):
        signal = "meta"
    if when is None and (when := dateline("\n".join(text.split("\n\n")[:12]))):
        signal = "dateline"
    if when is None:
        when, signal = page.fetched_at, "first_seen"
    return Article(
        url=canonicalize(page.final_url), title=clean(title)[:500], text=text,
        fingerprint=fingerprint(text), published=when, published_signal=signal,
        author=str(info.get("/Author") or "").strip() or None, word_count=word_count(text),
        lead=lead(_first_prose(text, clean(title)) or text),
    )


def _first_prose(text: str, title: str) -> str | None:
    """From the first paragraph that reads as sentences: a paper opens with a cover or
    headings in capitals (agenda item, committee, date), which make a poor lead."""
    paras = text.split("\n\n")
    for k, para in enumerate(paras):
        letters = [c for c in para if c.isalpha()]
        end = para.rstrip()
        if (len(para.split()) >= 8 and end.endswith((".", "!", "?", "”", '"'))
                and not end.endswith("..") and squash(title) not in squash(para)
                and sum(c.isupper() for c in letters) < 0.3 * len(letters)):
            return "\n\n".join([_BULLET.sub("", para, count=1), *paras[k + 1:]])
    return None


def paragraphs(pages: list[str]) -> list[str]:
    """Lines → paragraphs: running headers and footers (lines on most pages) and page
    numbers go; wrapped lines are joined; bullets start new paragraphs."""
    page_lines = [[line.strip() for line in p.splitlines()] for p in pages]
    repeated: set[str] = set()
    if len(pages) >= 3:
        counts = Counter(squash(line) for lines in page_lines for line in set(lines) if line)
        repeated = {k for k, c in counts.items() if c >= 0.6 * len(pages) and k}
    out: list[str] = []
    current = ""
    for lines in page_lines:
        for line in lines:
            if not line or _PAGE_NO.match(line) or squash(line) in repeated:
                if not line and current:
                    out.append(current)
                    current = ""
                continue
            if _BULLET.match(line) or not current or current.endswith((".", ":", "?", "!")):
                if current:
                    out.append(current)
                current = line
            else:
                current = f"{current} {line}"
    if current:
        out.append(current)
    return out


def _pdf_date(value) -> object:
    """PDF dates look like D:20180322101500+00'00'."""
    from datetime import UTC, datetime

    m = re.match(r"D:(\d{4})(\d{2})(\d{2})", str(value or ""))
    if not m:
        return None
    try:
        return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
    except ValueError:
        return None
