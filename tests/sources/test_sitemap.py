import gzip
from datetime import UTC, datetime, timedelta

import pytest

from sectorwatch.config import parse_config
from sectorwatch.errors import ParseError
from sectorwatch.fetch.http import HttpClient, SourceFetcher
from sectorwatch.sources.sitemap import discover, parse_sitemap
from tests.fetch.test_http import settings

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{base}/news/fresh</loc><news:news><news:publication_date>{fresh}</news:publication_date>
    <news:title>Fresh story</news:title></news:news></url>
  <url><loc>{base}/news/old</loc><lastmod>2001-01-01</lastmod></url>
</urlset>"""


def test_news_sitemap_entries():
    body = NEWS.format(base="https://e.org", fresh="2026-11-22T08:00:00Z").encode()
    links, children = parse_sitemap(body, "https://e.org/news-sitemap.xml")
    assert children == []
    assert links[0].title == "Fresh story"
    assert links[0].published == datetime(2026, 11, 22, 8, tzinfo=UTC)


def test_gzipped_index_is_followed_and_old_entries_dropped(make_site, store):
    site = make_site()
    fresh = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    site.route("/news.xml.gz", gzip.compress(NEWS.format(base=site.base, fresh=fresh).encode()),
               "application/x-gzip")
    site.route("/sitemap.xml", f"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{site.base}/news.xml.gz</loc><lastmod>2026-11-22</lastmod></sitemap>
</sitemapindex>""", "application/xml")
    source = f"{{id: s, type: sitemap, url: '{site.base}/sitemap.xml'}}"
    config = parse_config(f"sources:\n  - {source}\n", "t.yaml")
    found = discover(config.sources[0], SourceFetcher(HttpClient(settings(), store), store))
    assert [lk.url for lk in found.links] == [f"{site.base}/news/fresh"]


def test_entities_are_not_expanded():
    body = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://e.org/&e;</loc></url></urlset>"""
    links, _ = parse_sitemap(body, "https://e.org/s.xml")
    assert all("root:" not in lk.url for lk in links)


def test_not_a_sitemap():
    with pytest.raises(ParseError):
        parse_sitemap(b"<html><body>hi</body></html>", "https://e.org/s.xml")
