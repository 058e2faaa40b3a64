"""Page metadata: title, dates (with the signal that gave each), author, language.

Pure functions over a parsed lxml tree. Dates are tried in order of trust: the feed's
date (given by the caller), JSON-LD, ``article:published_time``-style meta, ``<time>``, a
visible dateline, the URL, and last the time the page was first seen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from sectorwatch.extract.text import squash

_TITLE_SPLIT = re.compile(r"\s+(?:\||-|–|—|::|·|»)\s+")
_META_PUBLISHED = ("article:published_time", "og:published_time", "datepublished",
                   "dc.date.issued", "dcterms.created", "date", "pubdate", "publish-date",
                   "publication_date", "sailthru.date", "parsely-pub-date",
                   "og:article:published_time")
_META_UPDATED = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified",
                 "last-modified")
_ARTICLE_TYPES = {"article", "newsarticle", "blogposting", "report", "reportagenewsarticle",
                  "analysisnewsarticle", "opinionnewsarticle", "pressrelease", "webpage",
                  "scholarlyarticle", "liveblogposting"}
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], 1)}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"  # noqa: E501
_DATELINES = (  # "24 January 2017", then "January 24, 2017"
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})\b", re.I),
    re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),
)
_UPDATED_LINE = re.compile(r"\b(last updated|updated)\b", re.I)
_URL_DATE = re.compile(r"/(20\d{2}|19\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|$|-)")
_BYLINE = re.compile(r"^\s*(?:by|words by|written by)\s+", re.I)


@dataclass(frozen=True)
class Dated:
    when: datetime
    signal: str


def json_ld(tree: etree._Element) -> list[dict]:
    """Every JSON-LD object on the page (graphs and lists flattened)."""
    found: list[dict] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower().strip() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        found.extend(_flatten(data))
    return found


def _flatten(data) -> Iterator[dict]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _flatten(data["@graph"])


def _types(obj: dict) -> set[str]:
    kind = obj.get("@type", [])
    return {str(k).lower() for k in (kind if isinstance(kind, list) else [kind])}


def article_ld(objects: list[dict]) -> dict | None:
    """The JSON-LD object describing the article, if any."""
    for obj in objects:
        if _types(obj) & _ARTICLE_TYPES and (obj.get("datePublished") or obj.get("headline")):
            return obj
    return None


def meta(tree: etree._Element, *names: str) -> str | None:
    """The first non-empty <meta> content among ``names`` (property, name or itemprop)."""
    wanted = {n.lower() for n in names}
    values: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower().strip()
        content = (el.get("content") or "").strip()
        if key in wanted and content and key not in values:
            values[key] = content
    return next((values[n.lower()] for n in names if n.lower() in values), None)


def title(tree: etree._Element, fallback: str | None = None) -> str:
    """og:title, else the h1, else <title>, without a trailing site name."""
    site = meta(tree, "og:site_name") or ""
    h1 = next(iter(tree.iter("h1")), None)
    h1_text = " ".join(h1.text_content().split()) if h1 is not None else ""
    candidates = [meta(tree, "og:title", "twitter:title") or "", h1_text,
                  " ".join((tree.findtext(".//title") or "").split()), fallback or ""]
    for candidate in candidates:
        if candidate := _strip_site(candidate, site, h1_text):
            return candidate[:500]
    return "(untitled)"


def _strip_site(text: str, site: str, h1: str) -> str:
    text = " ".join(text.split())
    parts = _TITLE_SPLIT.split(text)
    if len(parts) < 2:
        return text
    if site and squash(parts[-1]) in (squash(site), squash(site).replace(" ", "")):
        return " - ".join(parts[:-1]) if len(parts) > 2 else parts[0]
    if h1 and squash(parts[0]) == squash(h1):
        return parts[0]
    # "Headline | Site": a short last part is a site name far more often than a headline.
    return " - ".join(parts[:-1]) if len(parts[-1].split()) <= 4 else text


def published(tree: etree._Element, url: str, ld: dict | None, text_head: str,
              feed_date: datetime | None, first_seen: datetime) -> Dated:
    """The publication date and the signal that gave it."""
    if feed_date is not None:
        return Dated(feed_date, "feed")
    if ld and (when := parse_date(ld.get("datePublished"))):
        return Dated(when, "jsonld")
    if when := parse_date(meta(tree, *_META_PUBLISHED)):
        return Dated(when, "meta")
    if when := _time_element(tree):
        return Dated(when, "time")
    if when := dateline(text_head, skip_updated=True):
        return Dated(when, "dateline")
    if m := _URL_DATE.search(url):
        return Dated(datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC), "url")
    return Dated(first_seen, "first_seen")


def updated(tree: etree._Element, ld: dict | None, page_text: str) -> Dated | None:
    """When the page says it was last updated, if it does."""
    if ld and (when := parse_date(ld.get("dateModified"))):
        return Dated(when, "jsonld")
    if when := parse_date(meta(tree, *_META_UPDATED)):
        return Dated(when, "meta")
    for line in page_text.splitlines():
        if _UPDATED_LINE.search(line) and (when := dateline(line)):
            return Dated(when, "dateline")
    return None


def _time_element(tree: etree._Element) -> datetime | None:
    times = list(tree.iter("time"))
    preferred = [t for t in times if (t.get("itemprop") or "").lower() == "datepublished"
                 or t.get("pubdate") is not None]
    for el in preferred + times:
        if when := parse_date(el.get("datetime")) or dateline(el.text_content()):
            return when
    return None


def dateline(text: str, skip_updated: bool = False) -> datetime | None:
    """A written date such as 'Tuesday, January 24, 2017' or '20 December 2018'."""
    for line in text.splitlines():
        if skip_updated and _UPDATED_LINE.search(line):
            continue
        for pattern in _DATELINES:
            if m := pattern.search(line):
                groups = m.groups()
                day, month, year = (groups[0], groups[1], groups[2]) if groups[0].isdigit() \
                    else (groups[1], groups[0], groups[2])
                try:
                    return datetime(int(year), _MONTHS[month.lower().rstrip(".")], int(day),
                                    tzinfo=UTC)
                except (ValueError, KeyError):
                    continue
    return None


def parse_date(value: str | None) -> datetime | None:
    """ISO 8601 (with or without time and zone) → aware UTC datetime."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        if not m:
            return dateline(value)
        try:
            when = datetime(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if not 1990 <= when.year <= 2100:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def author(tree: etree._Element, ld: dict | None) -> str | None:
    """JSON-LD author, else meta author, else a byline element."""
    if ld and (name := _ld_name(ld.get("author"))):
        return name
    value = meta(tree, "author", "article:author", "parsely-author", "sailthru.author",
                 "dc.creator")
    if value and not value.startswith(("http://", "https://")):
        return _clean_byline(value)
    for el in tree.xpath('//*[@rel="author" or @itemprop="author" or contains(@class, "author")'
                         ' or contains(@class, "byline")]'):
        if el.tag in ("body", "html", "article", "main") or len(el) > 6:
            continue  # a container, not a byline (an author biography box, say)
        if name := _clean_byline(el.text_content()):
            return name
    return None


def _ld_name(value) -> str | None:
    if isinstance(value, list):
        names = [n for v in value if (n := _ld_name(v))]
        return ", ".join(names) if names else None
    if isinstance(value, dict):
        value = value.get("name")
    return _clean_byline(value) if isinstance(value, str) else None


def _clean_byline(text: str) -> str | None:
    text = _BYLINE.sub("", " ".join(text.split()))
    text = re.split(r"\s*[|•]\s*", text)[0].strip(" ,")
    return text if 0 < len(text.split()) <= 6 else None


def language(tree: etree._Element) -> str | None:
    lang = tree.get("lang") or meta(tree, "og:locale", "content-language", "language")
    return lang.replace("_", "-").split("-")[0].lower() if lang else None
