"""A subscriber's digest as an email body: HTML (CSS inlined) and plain text. Pure.

Everything scraped is untrusted: templates autoescape, links must be http(s), and any text
that reaches a header goes through clean_header_text.
"""

from __future__ import annotations

import functools
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import css_inline
import jinja2

from sectorwatch import gazetteer
from sectorwatch.digest.select import Selection, Tagged

HTML_BUDGET = 100_000  # bytes: Gmail clips at about 102 KB, and the unsubscribe link with it
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False,
                                 apply_width_attributes=True)
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


@dataclass(frozen=True)
class Rendered:
    subject: str
    preheader: str
    html: str
    text: str


def clean_header_text(text: str, limit: int = 150) -> str:
    """Safe for a header: NFC, no control, private or bidi characters, one line, no RFC 2047
    encoded-word look-alikes (CVE-2024-6923 turns '=?UTF-8?Q?=0A?=Bcc:' into a header)."""
    text = unicodedata.normalize("NFC", text).translate(_BIDI)
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    text = " ".join(text.split()).replace("=?", "= ?").replace("?=", "? =")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_url(url: str) -> str | None:
    return url if re.match(r"^https?://[^\s\"'<>\x00-\x1f\x7f]+$", url or "") else None


def environment(templates: Path | None = None) -> jinja2.Environment:
    """Templates from a user folder first (if configured), then the packaged ones."""
    packaged = Path(str(resources.files("sectorwatch").joinpath("templates")))
    loaders = [jinja2.FileSystemLoader(str(templates))] if templates else []
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*loaders, jinja2.FileSystemLoader(str(packaged))]),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["clean"] = clean_header_text
    env.filters["wrap"] = wrap
    env.filters["span"] = span
    return env


def span(start: datetime, end: datetime) -> str:
    """Two dates as a range, saying the month and year once where they are shared:
    '12–19 November 2018', '29 October – 5 November 2018',
    '29 December 2025 – 5 January 2026'."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end:%-d %B %Y}"
    if start.year == end.year:
        return f"{start:%-d %B} – {end:%-d %B %Y}"
    return f"{start:%-d %B %Y} – {end:%-d %B %Y}"


@functools.lru_cache(maxsize=8192)
def wrap(text: str, width: int = 75, indent: int = 3, first: bool = True) -> str:
    """Text wrapped to ``width`` and indented (the first line too, unless ``first`` is
    false). Cached: the same story is wrapped once however many digests hold it."""
    pad = " " * indent
    lines = textwrap.wrap(text, width - indent, break_on_hyphens=False) or [""]
    return "\n".join(line if k == 0 and not first else pad + line
                     for k, line in enumerate(lines))


def render(selection: Selection, *, name: str, issue_date: datetime, manage_url: str,
           unsubscribe_url: str, env: jinja2.Environment | None = None,
           views: dict[int, dict] | None = None) -> Rendered:
    """``views``: story views by lead id, shared across calls for one issue, so each story
    is prepared once however many subscribers' digests hold it."""
    env = env or environment()
    context = digest_context(selection, name=name, issue_date=issue_date, views=views)
    context.update(manage_url=manage_url, unsubscribe_url=unsubscribe_url)
    html = _INLINER.inline(env.get_template("digest.html.j2").render(context))
    text = env.get_template("digest.txt.j2").render(context)
    return Rendered(context["subject"], context["preheader"], html, text)


def digest_context(selection: Selection, *, name: str, issue_date: datetime,
                   views: dict[int, dict] | None = None) -> dict:
    """What the digest templates (and the web archive's page) show of a selection."""
    views = {} if views is None else views
    sections = [{"title": s.title, "more": s.more,
                 "stories": [_view(e, views) for e in s.stories]}
                for s in selection.sections]
    watch = [{**j, "name": _authority_name(j.get("authority")),
              "date": month_name(j.get("date"))} for j in selection.watch]
    topics = ", ".join(s.title for s in selection.sections[:3])
    count = selection.count
    preheader = clean_header_text(
        f"This week: {count} stor{'y' if count == 1 else 'ies'}" +
        (f" — {topics}" if topics else "") +
        (f"; {len(watch)} Ofsted judgement{'s' * (len(watch) != 1)}" if watch else ""), 100)
    subject = clean_header_text(
        f"Children's services this week: {issue_date:%-d %B %Y}" if not selection.empty
        else "Children's services this week: nothing new on what you follow")
    if selection.empty:
        preheader = "Nothing this week matched the authorities and topics you follow."
    return {"sections": sections, "watch": watch, "name": clean_header_text(name, 80),
            "preheader": preheader, "subject": subject, "start": selection.start,
            "end": selection.end, "count": count}


def month_name(value: str | None) -> str | None:
    """'2026-11' → 'November 2026' (a judgement's month as the article states it)."""
    try:
        return datetime.strptime(value or "", "%Y-%m").strftime("%B %Y")
    except ValueError:
        return value


@functools.cache
def _names() -> dict[str, str]:
    return {code: a.name for code, a in gazetteer.authorities().items()}


def _authority_name(code: str | None) -> str:
    """An authority's name from its code: the code itself if unknown, '' for none."""
    return _names().get(code, code) if code else ""


def _view(entry: Tagged, views: dict[int, dict]) -> dict:
    """What the templates show of a story; scraped text cleaned of control characters and
    bounded (autoescaping still does the HTML escaping)."""
    lead = entry.story.lead
    if lead.id in views:
        return views[lead.id]
    names = _names()
    view = views[lead.id] = {
        "title": clean_header_text(lead.title, 300), "url": safe_url(lead.url),
        "source": clean_header_text(lead.source_name or lead.source_id, 80),
        "date": lead.published, "lead": clean_header_text(lead.lead, 600),
        "authorities": [names.get(c, c) for c in sorted(entry.primary)],
        "judged": bool(entry.judgements),
        "also": [{"source": clean_header_text(o.source_name or o.source_id, 80),
                  "url": safe_url(o.url)} for o in entry.story.others],
    }
    return view
