"""The bundled sites against the shipped config: every source has a fixture, and a full
fetch of all of them behaves as a user would expect."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml

from sectorwatch.cli.demo_run import local_config_text
from sectorwatch.config import load_config, parse_config
from sectorwatch.demo.server import SITES_DIR, serve_sites, site_folders
from sectorwatch.pipeline import run_all
from tests.conftest import FAST_FETCH


def expected_articles() -> dict[str, dict]:
    """{host + path: expectations} from every site's expected.yaml."""
    out = {}
    for folder in site_folders():
        data = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
        for path, exp in data["articles"].items():
            out[folder.name + path] = exp
    return out


def test_every_configured_source_has_a_fixture_site():
    hosts = {f.name for f in site_folders()}
    for source in load_config(None).sources:
        assert urlsplit(source.url).hostname in hosts, f"{source.id} has no fixture site"


@pytest.mark.parametrize("folder", site_folders(), ids=lambda f: f.name)
def test_site_manifests_are_complete(folder):
    routes = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))["routes"]
    for spec in routes.values():
        assert (folder / spec["file"]).is_file()
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    assert set(expected["articles"]) <= set(routes)
    assert "/robots.txt" in routes


@pytest.fixture
def sites():
    with serve_sites(SITES_DIR) as served:
        yield served


def shipped_config(sites, db_url):
    fast = {k: str(v) for k, v in yaml.safe_load(FAST_FETCH)["fetch"].items()}
    config = parse_config(local_config_text(sites, db_url, fast), "shipped")
    assert all(s.enabled for s in config.sources)  # the shipped examples too, as in the demo
    return config


def test_full_fetch_stores_every_article_once_then_only_304s(sites, db_url, store):
    config = shipped_config(sites, db_url)
    report = run_all(config, store)
    expected = expected_articles()
    assert report.ok, [r.error for r in report.sources]
    assert store.count_articles() == len(expected) == report.total("new")

    by_title = {r.title: r for r in store.articles(limit=None)}
    for key, exp in expected.items():
        assert exp["title"] in by_title, f"{key}: title {exp['title']!r} not stored"
        row = by_title[exp["title"]]
        assert bool(row.truncated) == bool(exp.get("truncated", False)), key

    again = run_all(config, store, force=True)
    for r in again.sources:
        assert (r.requests, r.outcomes, r.new) == (1, {"304": 1}, 0), r.source_id


def test_walled_article_keeps_no_wall_text(sites, db_url, store):
    run_all(shipped_config(sites, db_url), store, source_ids=["cypnow-news"])
    walled = [r for r in store.articles(limit=None) if r.truncated]
    assert len(walled) == 1
    assert "Register Now" not in walled[0].text and "subscriber-only" not in walled[0].text


def test_teaser_links_are_not_followed(sites, db_url, store):
    run_all(shipped_config(sites, db_url), store, source_ids=["willispalmer-children-first"])
    site = sites["www.willispalmer.com"]
    asked = {path for path, _ in site.requests}
    routes = set(site.static)
    assert asked <= routes, f"requested pages that are not articles: {asked - routes}"


def test_govuk_bodies_come_from_the_content_api(sites, db_url, store):
    run_all(shipped_config(sites, db_url), store, source_ids=["govuk-ofsted-news"])
    asked = [p for p, _ in sites["www.gov.uk"].requests]
    assert sum(p.startswith("/api/content/") for p in asked) == 4
    assert not any(p.startswith("/government/news/") for p in asked)
    assert {r.published_signal for r in store.articles(limit=None)} == {"api"}
