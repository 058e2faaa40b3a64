"""PDF documents (Ofsted letters, council committee papers, printed web pages): text with
pypdf.

pypdf gives a page's text as lines; a visitor also tells where each line sits and how
large its type is. That is what tells paragraphs apart (the space between them), finds
headings (larger type) and page furniture (the lines at the top and bottom of pages).
"""

from __future__ import annotations

import io
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sectorwatch.errors import ExtractError
from sectorwatch.extract.metadata import dateline
from sectorwatch.extract.text import clean, fingerprint, lead, squash, word_count
from sectorwatch.models import Article, Link, Page
from sectorwatch.urls import canonicalize

MAX_PAGES = 200
MAX_TEXT = 200_000
BAND = 3  # lines at the top and at the bottom of a page where running text may stand
_BULLET = re.compile(r"^\s*([•▪◦‣●○■□–-]|\d+[.)]|[a-z][.)])\s+")
_ENDS = (".", ":", "?", "!", "”", '"')
_DATE = r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
_COUNT = r"(?:page\s*)?(\d{1,3})\s*(?:/|of)\s*(\d{1,3})"
# Furniture, only ever looked for at the top and bottom of a page: page numbers (a year
# alone, or "2018/19", is not one), and what a browser prints around a page: the file's
# address or a web address with the page count, the print date with the page's title.
_PAGE_NO = re.compile(rf"{_COUNT}|(?:page\s*)?\d{{1,3}}|[-–—]\s*\d{{1,3}}\s*[-–—]"
                      r"|page\s*\|\s*\d{1,3}|\d{1,3}\s*\|\s*page", re.I)
_PRINTED = re.compile(
    rf"(?:.*\s)?file://\S*(?:\s+{_COUNT})?|(?:.*\s)?https?://\S+\s+{_COUNT}"
    rf"|{_DATE},\s*\d{{1,2}}[:.]\d{{2}}(?:[:.]\d{{2}})?(?:\s*[ap]\.?m\.?)?(?:\s.*)?"
    rf"|{_COUNT}\s+{_DATE}.*", re.I)
_EDGE_NUMBER = re.compile(r"^\d+\b|\b\d+$")
# Metadata titles that name the file, not the document.
_FILE_NAME = re.compile(
    r"\.(html?|pdf|docx?|dotx?|rtf|odt|odp|ods|xlsx?|pptx?|txt|indd|qxp|pub|php|aspx?|jsp)$"
    r"|^microsoft (word|powerpoint|excel)\b|^[a-z]:\\|^~?/|://|^\S*[/\\]\S*$", re.I)
_GENERIC = re.compile(r"(untitled|new|blank|powerpoint|word|report)?\s*(document|presentation|"
                      r"slide|title|template|draft|default|none|null|unknown)?\s*\d*", re.I)


@dataclass(frozen=True)
class Line:
    """One line of a page as pypdf reads it."""

    text: str
    depth: float | None = None
    """How far down the page its baseline sits (pt), when pypdf says."""
    size: float | None = None
    """The printed size of most of its type (pt), when pypdf says."""
    bold: bool = False
    """Set in a bold face throughout."""


@dataclass(frozen=True)
class Para:
    """A paragraph: its text, the type size of its first line, the page it starts on."""

    text: str
    size: float | None
    page: int
    bold: bool = False


def extract_pdf(page: Page, link: Link) -> Article:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(page.body), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("the PDF is encrypted", url=page.final_url)
        pages = [page_lines(p) for p in reader.pages[:MAX_PAGES]]
        info: Mapping[str, object] = reader.metadata or {}
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractError(f"unreadable PDF: {exc}", url=page.final_url) from None
    paras = paragraphs(without_furniture(pages))
    text = clean("\n\n".join(p.text for p in paras))[:MAX_TEXT]
    if word_count(text) < 5:
        raise ExtractError("the PDF has no text layer (a scan?)", url=page.final_url)
    meta_title = str(info.get("/Title") or "").strip()
    # Strongest evidence first: what the source called it, type larger than the body's,
    # a /Title that reads as one, a bold subject line, the first short line.
    title = ((link.title or "").strip() or heading(paras)
             or (meta_title if reads_as_title(meta_title) else "") or bold_heading(paras)
             or _first_short(text))
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


def page_lines(page) -> list[Line]:
    """A pypdf page's non-blank lines, with where each sits, its type size and weight. If
    what the visitor saw is not the page's text, the plain lines (the rules fall back)."""
    chunks: list[tuple[str, list[float] | None, float, bool]] = []

    def visit(text, cm, tm, font, size) -> None:
        chunks.append((text, _mult(tm, cm), float(size or 0), _is_bold(font)))

    plain = page.extract_text(visitor_text=visit) or ""
    if squash("".join(c[0] for c in chunks)) != squash(plain):
        return [Line(t.strip()) for t in plain.splitlines() if t.strip()]
    lines: list[Line] = []
    text, bold = "", 0
    depth: float | None = None
    sizes: Counter[float] = Counter()
    for chunk, m, size, heavy in chunks:
        for k, part in enumerate(chunk.split("\n")):
            if k:
                if text.strip():
                    lines.append(_line(text, depth, sizes, bold))
                text, depth, sizes, bold = "", None, Counter(), 0
            scale = math.hypot(m[2], m[3]) if m and part.strip() else 0.0
            if m and scale and not text.strip() and k == 0:
                # Along the line's "down": the same for rotated and flipped pages. A line
                # that starts after a break inside a chunk has no position of its own.
                depth = -(m[4] * m[2] + m[5] * m[3]) / scale
            if scale and size:
                sizes[round(size * scale * 2) / 2] += len(part.strip())
            bold += heavy * len(part.strip())
            text += part
    if text.strip():
        lines.append(_line(text, depth, sizes, bold))
    return lines


def _line(text: str, depth: float | None, sizes: Counter[float], bold: int) -> Line:
    text = " ".join(text.split())
    return Line(text, depth, sizes.most_common(1)[0][0] if sizes else None,
                bold >= 0.9 * len(text.replace(" ", "")))


def _is_bold(font) -> bool:
    try:
        name = str(font.get("/BaseFont", "")).lower()
    except AttributeError:
        return False
    return any(w in name for w in ("bold", "black", "heavy"))


def _mult(a, b) -> list[float] | None:
    """The text matrix in page space (tm × cm), or None if pypdf gave none."""
    try:
        return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
                a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]
    except (TypeError, IndexError):
        return None


def without_furniture(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without running headers and footers: from each edge of a page inward, lines
    that are page numbers or a browser's print marks, or that stand in that band, in the
    same place, on most pages (from three pages on). A line repeated mid-page (a refrain,
    a table's heading), or below a line that stays, is text."""
    orders = [_top_down(lines) for lines in pages]
    repeated: set[tuple[str, int | None]] = set()
    if len(pages) >= 3:
        counts = Counter(key for lines, order in zip(pages, orders, strict=True)
                         for key in {_running_key(lines[i]) for i in order[:BAND] + order[-BAND:]})
        repeated = {key for key, n in counts.items() if key[0] and n >= 0.6 * len(pages)}
    out = []
    for lines, order in zip(pages, orders, strict=True):
        drop: set[int] = set()
        for edge in (order[:BAND], order[::-1][:BAND]):
            for i in edge:
                if not (_is_furniture(lines[i].text) or _running_key(lines[i]) in repeated):
                    break
                drop.add(i)
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def _top_down(lines: list[Line]) -> list[int]:
    """A page's lines from top to bottom, by position when known (a browser writes its
    header after the page's text), else as read."""
    order = list(range(len(lines)))
    depths = [line.depth for line in lines if line.depth is not None]
    if len(depths) == len(lines):
        order.sort(key=lambda i: depths[i])
    return order


def _is_furniture(text: str) -> bool:
    text = unicodedata.normalize("NFKC", text).strip()  # a printed "ﬁle:///" has a ligature
    if m := _PAGE_NO.fullmatch(text):
        return not m[1] or int(m[1]) <= int(m[2])
    return bool(_PRINTED.fullmatch(text))


def _running_key(line: Line) -> tuple[str, int | None]:
    """What a running line keeps from page to page: its words (a page number at either end
    aside) and its place on the page, when known."""
    words = _EDGE_NUMBER.sub("#", squash(unicodedata.normalize("NFKC", line.text)))
    return words, None if line.depth is None else round(line.depth)


def paragraphs(pages: list[list[Line]]) -> list[Para]:
    """Lines → paragraphs. A paragraph ends where the space to the next line is wider than
    the line pitch, where the type size changes (a heading), before a bullet, and after a
    line well short of the text's width; a wrapped sentence end is no break. Without
    positions, or lines enough to know the width, after a line ending a sentence."""
    flat = [(k, line) for k, lines in enumerate(pages) for line in lines]
    sizes: Counter[float | None] = Counter()
    for _, line in flat:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else None

    def width(line: Line) -> float:
        # In characters of body type: a heading's line holds fewer, larger letters.
        return len(line.text) * (line.size / body if line.size and body else 1)

    widths = sorted(width(line) for _, line in flat)
    measure = widths[int(0.9 * (len(widths) - 1))] if len(widths) >= 4 else None
    pitch = _pitches(pages)
    out: list[Para] = []
    current: list[tuple[int, Line]] = []
    for k, line in flat:
        prev = current[-1] if current else None
        # A heading's lines break early (large letters, capitals): only space ends it.
        short = 0.8 * measure if measure and not _larger(prev, body) else None
        if prev and _breaks(prev[1], line, prev[0] == k, pitch, short, width):
            out.append(_para(current))
            current = []
        current.append((k, line))
    if current:
        out.append(_para(current))
    return out


def _para(lines: list[tuple[int, Line]]) -> Para:
    return Para(" ".join(line.text for _, line in lines), lines[0][1].size, lines[0][0],
                all(line.bold for _, line in lines))


def _larger(prev: tuple[int, Line] | None, body: float | None) -> bool:
    return bool(prev and prev[1].size and body and prev[1].size > 1.08 * body)


def _breaks(prev: Line, line: Line, same_page: bool, pitch: dict[float, float],
            short: float | None, width: Callable[[Line], float]) -> bool:
    if _BULLET.match(line.text):
        return True
    if prev.size and line.size and abs(prev.size - line.size) > 0.08 * max(prev.size, line.size):
        return True
    if same_page and prev.depth is not None and line.depth is not None and line.size:
        gap = line.depth - prev.depth
        usual = pitch.get(line.size, 1.2 * line.size)
        if gap < -0.5 * line.size or gap > usual + 0.3 * line.size:
            return True  # a paragraph's space, or a jump up the page (a new column or box)
    if short:
        # After a sentence's end, a short line that ends none is a heading set in the
        # body's type, not the paragraph's last line.
        return width(prev) < short or (
            prev.text.endswith(_ENDS) and width(line) < short
            and line.text[:1].isupper() and not line.text.endswith(_ENDS))
    return prev.text.endswith(_ENDS)


def _pitches(pages: list[list[Line]]) -> dict[float, float]:
    """The usual distance between baselines, per type size: the commonest gap (a size
    seen too rarely keeps 1.2 × its size)."""
    gaps: dict[float, Counter] = {}
    for lines in pages:
        for a, b in itertools.pairwise(lines):
            if a.size == b.size and a.size and a.depth is not None and b.depth is not None:
                gap = b.depth - a.depth
                if 0.8 * a.size <= gap <= 3 * a.size:
                    gaps.setdefault(a.size, Counter())[round(gap * 2) / 2] += 1
    return {size: min(c, key=lambda g: (-c[g], g)) for size, c in gaps.items()
            if c.total() >= 3}


def heading(paras: list[Para]) -> str | None:
    """The document's first heading: the largest type near the top of page 1, if it is
    larger than the body's."""
    sized: Counter[float] = Counter()
    for p in paras:
        if p.size:
            sized[p.size] += len(p.text)
    if not sized:
        return None
    body = sized.most_common(1)[0][0]
    top = [p for p in paras[:8] if p.page == paras[0].page and p.size and _headline(p.text)]
    largest = max((p.size for p in top if p.size is not None), default=0)
    if largest < 1.15 * body:
        return None
    return next(p.text for p in top if p.size == largest)


def bold_heading(paras: list[Para]) -> str | None:
    """A heading set in bold body type on page 1, as a letter's subject line is (after the
    addresses, the date and the greeting)."""
    return next((p.text for p in paras[:30] if p.page == paras[0].page and p.bold
                 and len(p.text.split()) >= 3 and _headline(p.text)), None)


def _headline(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 4 and len(text.split()) <= 30


def reads_as_title(text: str) -> bool:
    """Whether a PDF's /Title names the document: not a file name or path ("pdfsrc.html",
    "Microsoft Word - x.doc"), a placeholder ("untitled", "Doc1"), a number or one word."""
    words = text.split()
    return (2 <= len(words) <= 40 and sum(c.isalpha() for c in text) >= 4
            and not _FILE_NAME.search(text) and not _GENERIC.fullmatch(text.strip()))


def _first_short(text: str) -> str:
    """A title of last resort: the first short line (a cover's or a letter's heading)."""
    paras = text.split("\n\n")
    return next((p for p in paras[:10] if 2 <= len(p.split()) <= 20), paras[0])


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


def _pdf_date(value: object) -> datetime | None:
    """PDF dates look like D:20180322101500+00'00'."""
    m = re.match(r"D:(\d{4})(\d{2})(\d{2})", str(value or ""))
    if not m:
        return None
    try:
        return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
    except ValueError:
        return None
