"""Pages for reading: the archive of sent issues, authority pages, and their Atom feeds.

Nothing here changes state, so every route is a GET.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sectorwatch.digest import snapshot
from sectorwatch.digest.issue import IssueRenderer
from sectorwatch.digest.render import clean_header_text, digest_context, safe_url
from sectorwatch.models import Filters
from sectorwatch.tag import Tags
from sectorwatch.web.context import Web
from sectorwatch.web.feeds import Entry, atom
from sectorwatch.web.subscribing import form_context
from sectorwatch.web.timeline import build_timeline, latest_grade

ATOM_TYPE = "application/atom+xml; charset=utf-8"
ISSUE_KEY = re.compile(r"\d{4}-W\d{2}")
FEED_ISSUES = 20


def routes(web: Web) -> list[Route]:
    def home(request: Request) -> Response:
        chosen = request.query_params.getlist("authority")
        return web.page(request, "home.html.j2",
                        **form_context(web, Filters(tuple(c for c in chosen
                                                          if c in web.authorities))),
                        issues=web.store.sent_issues(limit=3), email="", name="",
                        errors=[])

    def archive(request: Request) -> Response:
        return web.page(request, "archive.html.j2", issues=web.store.sent_issues())

    def issue(request: Request) -> Response:
        key = request.path_params["key"]
        row = web.store.issue(key) if ISSUE_KEY.fullmatch(key) else None
        if row is None or not row.sent:  # frozen, but not yet sent to anyone
            raise HTTPException(404)
        renderer = IssueRenderer(web.config, snapshot.loads(row.stories), row.send_at,
                                 web.signer)
        context = digest_context(renderer.selection(Filters()), name="",
                                 issue_date=row.send_at)
        slugs = {a.name: a.slug for a in web.authorities.values() if a.current}
        return web.page(request, "issue.html.j2", key=key, send_at=row.send_at, slugs=slugs,
                        **context)

    def archive_feed(request: Request) -> Response:
        base = web.base_url
        entries = []
        for row in web.store.sent_issues(limit=FEED_ISSUES):
            if (stored := web.store.issue(row.key)) is None:
                continue  # removed since it was listed
            titles = [e.story.lead.title for e in snapshot.loads(stored.stories)][:5]
            entries.append(Entry(
                id=f"{base}/archive/{row.key}",
                title=f"Children's services this week: {row.send_at:%-d %B %Y}",
                link=f"{base}/archive/{row.key}", updated=row.send_at,
                summary=f"{row.story_count} stories. " + "; ".join(titles)))
        body = atom(feed_id=f"{base}/archive", title="Sectorwatch weekly: every issue",
                    self_url=f"{base}/archive.atom", page_url=f"{base}/archive",
                    entries=entries)
        return Response(body, media_type=ATOM_TYPE)

    def authority_list(request: Request) -> Response:
        counts = web.store.authority_counts()
        by_region: dict[str, list] = {}
        for a in sorted(web.authorities.values(), key=lambda a: a.name):
            if a.current or counts.get(a.code):
                by_region.setdefault(a.region, []).append((a, counts.get(a.code, 0)))
        return web.page(request, "authorities.html.j2",
                        regions=sorted(by_region.items()))

    def find(request: Request):
        name = request.path_params["slug"]
        found = web.by_slug.get(name)
        if found is None and name in web.authorities:
            found = web.authorities[name]
        if found is None:
            raise HTTPException(404)
        return found

    general = {s.id for s in web.config.sources if s.relevance_filter}

    def stories(code: str) -> list[dict]:
        """The authority's newest stories, leaving out a general outlet's articles with no
        sector topic (roadworks in Worcester), as the digest does."""
        limit = web.config.web.recent_stories
        rows = web.store.articles(authorities=[code], limit=limit * 3, with_tags=True)
        topics = {t.slug: t.label for t in web.config.topics}
        out: list[dict] = []
        for r in rows:
            tags = r.tags or Tags()
            if r.source_id in general and not tags.topics:
                continue
            if len(out) == limit:
                break
            role = next((a.role for a in tags.authorities if a.code == code), "mentioned")
            out.append({
                "title": clean_header_text(r.title, 300), "url": safe_url(r.url),
                "source": clean_header_text(web.source_names.get(r.source_id, r.source_id), 80),
                "when": r.published_at or r.first_seen_at,
                "lead": clean_header_text(r.lead or "", 600), "primary": role == "primary",
                "topics": [topics.get(t.slug, t.slug) for t in tags.topics]})
        return out

    def authority(request: Request) -> Response:
        a = find(request)
        if request.path_params["slug"] != a.slug:
            return RedirectResponse(f"/authorities/{a.slug}", status_code=301)
        events = build_timeline(web.store.judgements(a.code), web.source_names)
        return web.page(request, "authority.html.j2", authority=a, events=events,
                        latest=latest_grade(events), stories=stories(a.code),
                        successors=[web.authorities[c] for c in a.replaced_by
                                    if c in web.authorities])

    def authority_feed(request: Request) -> Response:
        a = find(request)
        base = web.base_url
        entries = [Entry(id=s["url"] or f"{base}/authorities/{a.slug}#{k}",
                         title=s["title"], link=s["url"], updated=s["when"],
                         summary=s["lead"], author=s["source"])
                   for k, s in enumerate(stories(a.code))]
        body = atom(feed_id=f"{base}/authorities/{a.slug}",
                    title=f"{a.name}: children's services news",
                    self_url=f"{base}/authorities/{a.slug}.atom",
                    page_url=f"{base}/authorities/{a.slug}", entries=entries,
                    updated=None if entries else datetime.now(UTC))
        return Response(body, media_type=ATOM_TYPE)

    return [
        Route("/", home),
        Route("/archive", archive),
        Route("/archive.atom", archive_feed),
        Route("/archive/{key}", issue),
        Route("/authorities", authority_list),
        Route("/authorities/{slug}.atom", authority_feed),
        Route("/authorities/{slug}", authority),
    ]

