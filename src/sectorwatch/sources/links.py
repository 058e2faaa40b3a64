"""Filters every source type applies to the links it found."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from sectorwatch.models import Link
from sectorwatch.sources.base import SourceBase


def keep_links(links: Iterable[Link], source: SourceBase) -> Iterator[Link]:
    """Drop repeats and links whose path (and query) does not match ``article_url_pattern``.

    Matching the path, not the whole URL, keeps a pattern valid when the same site is
    served from elsewhere (a mirror, a test server).
    """
    pattern = re.compile(source.article_url_pattern) if source.article_url_pattern else None
    seen: set[str] = set()
    for link in links:
        if link.url in seen or (pattern and not pattern.search(_path(link.url))):
            continue
        seen.add(link.url)
        yield link


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
