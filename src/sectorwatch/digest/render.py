"""A subscriber's digest as an email body: HTML (CSS inlined) and plain text. Pure.

Everything scraped is untrusted: templates autoescape, links must be http(s), and any text
that reaches a header goes through clean_header_text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import css_inline
import jinja2

from sectorwatch.digest.select import Selection, Tagged
from sectorwatch.tag.authorities import gazetteer

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
    return url if re.match(r"^https?://[^\s\"'<>]+$", url or "") else None


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
    return env


def render(selection: Selection, *, name: str, issue_date: datetime, manage_url: str,
           unsubscribe_url: str, env: jinja2.Environment | None = None) -> Rendered:
    env = env or environment()
    names = {code: info["name"] for code, info in gazetteer().authorities.items()}
    sections = [{"title": s.title, "more": s.more,
                 "stories": [_story(e, names) for e in s.stories]}
                for s in selection.sections]
    watch = [{**j, "name": names.get(j.get("authority"), j.get("authority") or "")}
             for j in selection.watch]
    topics = ", ".join(s.title for s in selection.sections[:3])
    count = selection.count
    preheader = clean_header_text(
        f"This week: {count} stor{'y' if count == 1 else 'ies'}" +
        (f" — {topics}" if topics else "") +
        (f"; {len(watch)} Ofsted judgement{'s' * (len(watch) != 1)}" if watch else ""), 100)
    subject = clean_header_text(f"Children's services this week: {issue_date:%-d %B %Y}")
    context = {"sections": sections, "watch": watch, "name": name, "preheader": preheader,
               "subject": subject, "start": selection.start, "end": selection.end,
               "manage_url": manage_url, "unsubscribe_url": unsubscribe_url, "count": count}
    html = _INLINER.inline(env.get_template("digest.html.j2").render(context))
    text = env.get_template("digest.txt.j2").render(context)
    return Rendered(subject, preheader, html, text)


def _story(entry: Tagged, names: dict[str, str]) -> dict:
    lead = entry.story.lead
    return {
        "title": lead.title, "url": safe_url(lead.url), "source": lead.source_name or
        lead.source_id, "date": lead.published, "lead": lead.lead,
        "authorities": [names.get(c, c) for c in sorted(entry.primary)],
        "judged": bool(entry.judgements),
        "also": [{"source": o.source_name or o.source_id, "url": safe_url(o.url)}
                 for o in entry.story.others],
    }
