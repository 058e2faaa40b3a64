"""The source-type registry: config ``type`` → module that turns a source into links.

Adding a source type is one module exposing ``TYPE`` and one line here.
"""

from __future__ import annotations

from sectorwatch.sources import feed, govuk, html_listing, sitemap
from sectorwatch.sources.base import SourceType

REGISTRY: dict[str, SourceType] = {
    module.TYPE.name: module.TYPE for module in (feed, html_listing, sitemap, govuk)
}
