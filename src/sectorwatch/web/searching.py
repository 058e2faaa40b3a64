"""The search page: stored articles matching a query, best first, with their snippets,
filters by authority, region and topic, and pages of results. A plain GET form, so it
works without JavaScript, and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sectorwatch import gazetteer
from sectorwatch.digest.render import clean_header_text, safe_url
from sectorwatch.store.highlight import to_html
from sectorwatch.store.query import EXAMPLE, QueryError, parse
from sectorwatch.store.records import SearchHit
from sectorwatch.store.search import CANDIDATES
from sectorwatch.web.context import Web

PER_PAGE = 20
MAX_FILTERS = 50  # values of authority, region and topic in one address


@dataclass(frozen=True)
class Asked:
    """What the address asks for: the query as typed and the filters' values, checked."""

    q: str
    authorities: tuple[str, ...]  # slugs, as /authorities/<slug> has them
    regions: tuple[str, ...]
    topics: tuple[str, ...]
    page: int

    def address(self, page: int) -> str:
        """This search's address at ``page``."""
        params = [("q", self.q), *(("authority", a) for a in self.authorities),
                  *(("region", r) for r in self.regions), *(("topic", t) for t in self.topics)]
        return "/search?" + urlencode(params + ([("page", str(page))] if page > 1 else []))


class BadRequest(ValueError):
    """A filter or page number the address cannot mean."""


def routes(web: Web) -> list[Route]:
    topic_labels = {t.slug: t.label for t in web.config.topics}
    current = sorted((a for a in web.authorities.values() if a.current), key=lambda a: a.name)

    def asked(request: Request) -> Asked:
        params = request.query_params
        values = {name: [v.strip() for v in params.getlist(name) if v.strip()]
                  for name in ("authority", "region", "topic")}
        if sum(len(v) for v in values.values()) > MAX_FILTERS:
            raise BadRequest("That is too many filters for one search.")
        slugs = []
        for value in values["authority"]:  # a slug, or a GSS code
            found = web.by_slug.get(value) or web.authorities.get(value)
            if found is None:
                raise BadRequest(f"There is no authority called “{value}”.")
            slugs.append(found.slug)
        regions = []
        for value in values["region"]:
            try:
                regions.append(gazetteer.resolve_region(value))
            except gazetteer.UnknownName:
                raise BadRequest(f"There is no region called “{value}”.") from None
        for value in values["topic"]:
            if value not in topic_labels:
                raise BadRequest(f"There is no topic called “{value}”.")
        page = params.get("page", "1").strip() or "1"
        if not page.isdigit() or not 1 <= int(page) <= CANDIDATES // PER_PAGE:
            raise BadRequest(f"The page number should be from 1 to {CANDIDATES // PER_PAGE}.")
        return Asked(" ".join(params.get("q", "").split()), tuple(dict.fromkeys(slugs)),
                     tuple(dict.fromkeys(regions)), tuple(dict.fromkeys(values["topic"])),
                     int(page))

    def hit(h: SearchHit) -> dict:
        return {
            "title": clean_header_text(h.title, 300), "url": safe_url(h.url),
            "source": clean_header_text(web.source_names.get(h.source_id, h.source_id), 80),
            "when": h.when,
            "snippet": Markup(to_html(h.snippet)),  # escaped, then marked
            "authorities": [web.authorities[c] for c in h.authorities
                            if c in web.authorities]}

    def search(request: Request) -> Response:
        context: dict = {"authorities": current, "regions": web.regions,
                         "topics": sorted(topic_labels.items(), key=lambda t: t[1]),
                         "example": EXAMPLE, "per_page": PER_PAGE}
        try:
            ask = asked(request)
        except BadRequest as exc:
            empty = Asked(request.query_params.get("q", ""), (), (), (), 1)
            return web.page(request, "search.html.j2", 400, asked=empty, error=str(exc),
                            hint="", results=None, **context)
        if not ask.q:
            return web.page(request, "search.html.j2", asked=ask, error="", hint="",
                            results=None, **context)
        try:
            query = parse(ask.q)
        except QueryError as exc:
            return web.page(request, "search.html.j2", 400, asked=ask,
                            error=_sentence(exc.message), hint=exc.hint or "", results=None,
                            **context)
        codes = [web.by_slug[s].code for s in ask.authorities] + \
            gazetteer.codes_for((), ask.regions)
        results = web.store.search(query, authorities=codes, topics=ask.topics,
                                   limit=PER_PAGE, offset=(ask.page - 1) * PER_PAGE)
        last = max(1, -(-results.total // PER_PAGE))
        return web.page(
            request, "search.html.j2", asked=ask, error="", hint="", results=results,
            hits=[hit(h) for h in results.hits], page=ask.page, last=last,
            previous=ask.address(ask.page - 1) if ask.page > 1 else None,
            next=ask.address(ask.page + 1) if ask.page < last else None,
            first_shown=results.offset + 1, last_shown=results.offset + len(results.hits),
            **context)

    return [Route("/search", search)]


def _sentence(message: str) -> str:
    """A QueryError's message as a sentence for the page."""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
