"""Golden extraction for every bundled article page, as the pipeline extracts it: with its
source's rules from the shipped config and the template learned from its site's pages.

expected.yaml (beside each site) holds, per article: title, published date, author,
truncated, the first and last words of the article's own words (standfirst, then body),
and boilerplate that must not survive. A configured source without a site fails in
tests/demo/test_sites.py; a site without expectations fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import yaml

from sectorwatch.config import load_config
from sectorwatch.demo.server import site_folders
from sectorwatch.extract import extract_article
from sectorwatch.extract.template import learn
from sectorwatch.extract.text import squash
from sectorwatch.models import Link, Page

BASE = "http://127.0.0.1:8000"
SOURCES = {urlsplit(s.url).hostname: s for s in reversed(load_config(None).sources)}


def site_cases():
    for folder in site_folders():
        routes = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))["routes"]
        expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
        assert expected["articles"], f"{folder.name} has no golden articles"
        for path, exp in expected["articles"].items():
            yield pytest.param(folder, routes, path, exp, id=f"{folder.name}{path}"[:90])


def serve(folder, routes, path) -> Page:
    spec = routes[path]
    body = (folder / spec["file"]).read_bytes().replace(b"{{base}}", BASE.encode())
    binary = "pdf" in spec["type"]  # committee papers: the PDF bytes, no text (as fetched)
    return Page(url=BASE + path, final_url=BASE + path, status=200, content_type=spec["type"],
                body=body, fetched_at=datetime(2026, 11, 23, tzinfo=UTC),
                text=None if binary else body.decode("utf-8"))


_TEMPLATES: dict[str, object] = {}


def template_for(folder, routes):
    if folder.name not in _TEMPLATES:
        pages = [serve(folder, routes, p).text for p in routes if "html" in routes[p]["type"]]
        _TEMPLATES[folder.name] = learn(pages)
    return _TEMPLATES[folder.name]


@pytest.mark.parametrize(("folder", "routes", "path", "exp"), list(site_cases()))
def test_golden_article(folder, routes, path, exp):
    source = SOURCES[folder.name]
    fetched = path
    if source.type == "govuk":  # bodies come from the Content API, as the pipeline does
        fetched = path.replace("/government/", "/api/content/government/", 1)
    page = serve(folder, routes, fetched)
    article = extract_article(page, source.extract, link=Link(BASE + path),
                              template=template_for(folder, routes))
    own_words = squash(f"{article.standfirst or ''} {article.text}")
    assert article.title == exp["title"]
    if exp.get("published"):
        assert article.published.date().isoformat() == str(exp["published"]), \
            article.published_signal
    if exp.get("author"):
        assert article.author == exp["author"]
    assert article.truncated == bool(exp.get("truncated", False))
    assert own_words.startswith(squash(exp["first_words"])), article.text[:200]
    assert own_words.endswith(squash(exp["last_words"])), article.text[-200:]
    for boilerplate in exp.get("must_not_contain", []):
        assert squash(boilerplate) not in own_words, boilerplate
    assert not article.text.startswith(article.title)
    assert 0 < len(article.lead.split()) <= 61
