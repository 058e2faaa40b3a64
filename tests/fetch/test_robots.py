"""robots.txt per RFC 9309, through the real client and store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sectorwatch.demo.server import Response
from sectorwatch.errors import FetchError
from sectorwatch.fetch.http import HttpClient
from tests.fetch.test_http import settings

PAGE = "<html><body><p>ok</p></body></html>"


@pytest.fixture
def site(make_site):
    s = make_site()
    s.route("/news/a", PAGE)
    s.route("/private/b", PAGE)
    return s


def client_for(store, **kw):
    return HttpClient(settings(**kw), store)


def test_disallowed_path_is_not_requested(site, store):
    site.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    client = client_for(store)
    assert client.get(f"{site.base}/news/a", accept="html").status == 200
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/private/b", accept="html")
    assert info.value.kind == "robots"
    assert site.count("/private/b") == 0


def test_rules_for_our_product_token_apply(site, store):
    site.route("/robots.txt", "User-agent: sectorwatch-test\nDisallow: /\n\n"
               "User-agent: *\nAllow: /\n", "text/plain")
    with pytest.raises(FetchError):
        client_for(store).get(f"{site.base}/news/a", accept="html")


def test_robots_404_means_allowed(site, store):
    assert client_for(store).get(f"{site.base}/news/a", accept="html").status == 200


def test_robots_500_means_disallowed(site, store):
    site.handle("/robots.txt", lambda h: Response(500, b"down"))
    with pytest.raises(FetchError) as info:
        client_for(store).get(f"{site.base}/news/a", accept="html")
    assert info.value.kind == "robots" and "RFC 9309" in info.value.message
    assert site.count("/news/a") == 0
    assert store.load_robots(site.base) is None  # a failure is not cached for a day


def test_robots_is_cached_in_the_store_for_a_day(site, store):
    site.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    client_for(store).get(f"{site.base}/news/a", accept="html")
    client_for(store).get(f"{site.base}/news/a", accept="html")  # a new process, same store
    assert site.count("/robots.txt") == 1
    fetched_at, status, body = store.load_robots(site.base)
    store.save_robots(site.base, status, body, fetched_at - timedelta(hours=25))
    client_for(store).get(f"{site.base}/news/a", accept="html")
    assert site.count("/robots.txt") == 2
    assert store.load_robots(site.base)[0] > datetime.now(UTC) - timedelta(minutes=1)


def test_robots_redirect_is_followed(site, store):
    site.handle("/robots.txt", lambda h: Response(301, b"", (("Location", "/real-robots"),)))
    site.route("/real-robots", "User-agent: *\nDisallow: /news/\n", "text/plain")
    with pytest.raises(FetchError):
        client_for(store).get(f"{site.base}/news/a", accept="html")


def test_crawl_delay_raises_the_per_host_pause(site, store):
    site.route("/robots.txt", "User-agent: *\nCrawl-delay: 7\n", "text/plain")
    client = client_for(store)
    client.get(f"{site.base}/news/a", accept="html")
    assert client.pacer._min_delay[site.base] == 7.0


def test_robots_can_be_switched_off(site, store):
    site.route("/robots.txt", "User-agent: *\nDisallow: /\n", "text/plain")
    client = client_for(store, respect_robots=False)
    assert client.get(f"{site.base}/news/a", accept="html").status == 200
    assert site.count("/robots.txt") == 0
