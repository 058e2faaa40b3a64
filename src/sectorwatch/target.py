"""Load one page for `sectorwatch extract`: from a saved file or over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sectorwatch.config import Config
from sectorwatch.errors import SectorwatchError
from sectorwatch.extract.template import Template, learn
from sectorwatch.fetch.decode import decode
from sectorwatch.models import Link, Page
from sectorwatch.sources import REGISTRY
from sectorwatch.sources.base import SourceBase

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
    binary = ctype == "application/pdf" or body[:5] == b"%PDF-"
    text, _ = (None, None) if binary else decode(body, ctype)
    address = url or path.resolve().as_uri()
    page = Page(url=address, final_url=address, status=200, content_type=ctype, body=body,
                fetched_at=datetime.now(UTC), text=text)
    return page, Link(address)


def _fetch(url: str, config: Config, source: SourceBase | None) -> tuple[Page, Link]:
    from sectorwatch.fetch.http import HttpClient

    link = Link(url)
    fetch_url, accept = (REGISTRY[source.type].article_request(source, link) if source
                         else (url, "article"))
    client = HttpClient(config.fetch)  # robots.txt and the user agent apply; no store
    try:
        page = client.get(fetch_url, accept=accept)
    finally:
        client.close()
    assert page is not None
    return page, link


def template_for(config: Config, source_id: str) -> Template | None:
    """The source's template, learned from its stored pages, if a database exists."""
    from sqlalchemy.engine import make_url

    from sectorwatch.store import Store

    parsed = make_url(config.database_url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return None  # nothing stored yet: do not create a database just to look
    with Store.open(config.database_url) as store:
        return learn(store.raw_samples(source_id, 40))
