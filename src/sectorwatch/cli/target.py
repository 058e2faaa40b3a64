"""Load one page for `sectorwatch extract`: from a saved file or over HTTP."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from sectorwatch.config import Config
from sectorwatch.errors import SectorwatchError
from sectorwatch.extract.template import MIN_PAGES, Template
from sectorwatch.fetch.http import HttpClient, SourceFetcher
from sectorwatch.models import Link, Page
from sectorwatch.pipeline import learn_template
from sectorwatch.sources import REGISTRY
from sectorwatch.sources.base import SourceBase
from sectorwatch.store import Store

LEARN_FROM = 4  # articles read to learn a new source's template, as its first fetch would
_TYPES = {".pdf": "application/pdf", ".json": "application/json", ".xml": "application/xml"}


def load_target(target: str, url: str | None, config: Config,
                source: SourceBase | None) -> tuple[Page, Link]:
    """(page, link) for a file path or an http(s) URL."""
    if target.startswith(("http://", "https://")):
        return _fetch(target, config, source)
    path = Path(target)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise SectorwatchError(f"cannot read {target}: {exc.strerror or exc}") from None
    if len(body) > config.fetch.max_bytes:
        raise SectorwatchError(f"{target} is larger than fetch.max_bytes "
                               f"({config.fetch.max_bytes:,} bytes)")
    ctype = _TYPES.get(path.suffix.lower(), "text/html")
    address = url or path.resolve().as_uri()
    return Page.from_bytes(address, body, ctype), Link(address)


def _fetch(url: str, config: Config, source: SourceBase | None) -> tuple[Page, Link]:
    link = Link(url)
    fetch_url, accept = (REGISTRY[source.type].article_request(source, link) if source
                         else (url, "article"))
    client = HttpClient(config.fetch)  # robots.txt and the user agent apply; no store
    try:
        page = client.get(fetch_url, accept=accept)
    finally:
        client.close()
    return page, link


def template_for(config: Config, source: SourceBase, page: Page, *, fetch_more: bool
                 ) -> tuple[Template, str]:
    """The template fetching would strip from ``page``, and a note of what it was learned
    from: the source's stored pages if a database exists, this page and the source's
    listing pages. With too few pages stored (a source not fetched yet), and
    ``fetch_more``, a few of its newest articles are read now, as a first fetch would."""
    parsed = make_url(config.database_url)
    exists = parsed.get_backend_name() != "sqlite" or Path(parsed.database or "").is_file()
    store = Store.open(config.database_url) if exists else None  # looking creates nothing
    try:
        template = learn_template(store, source.id, [page])
        if fetch_more and template.pages <= MIN_PAGES:  # fewer than MIN_PAGES stored
            more, listing = _newest_pages(config, source, skip=page.url)
            template = learn_template(store, source.id, [page, *more], listing)
    finally:
        if store is not None:
            store.close()
    note = (f"template learned from {template.pages} pages of {source.id}: "
            f"{len(template.blocks)} repeated blocks, {len(template.containers)} containers"
            if template else f"no template: {template.pages} pages of {source.id} "
            f"(it needs {MIN_PAGES})")
    return template, note


def _newest_pages(config: Config, source: SourceBase, skip: str) -> tuple[list[Page], list[Page]]:
    """(up to LEARN_FROM articles of the source, its listing pages), fetched politely; a
    failure only means less to learn from."""
    kind = REGISTRY[source.type]
    client = HttpClient(config.fetch)
    pages: list[Page] = []
    try:
        fetcher = SourceFetcher(client, None, source.url)
        try:
            discovery = kind.discover(source, fetcher)
        except SectorwatchError:
            return [], []
        for link in [lk for lk in discovery.links if lk.url != skip][:LEARN_FROM]:
            url, accept = kind.article_request(source, link)
            try:
                if (found := fetcher.get(url, accept=accept)) is not None:
                    pages.append(found)
            except SectorwatchError:
                continue
        return pages, list(discovery.validated)
    finally:
        client.close()
