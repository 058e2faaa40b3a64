"""A stop asked of the HTTP client ends whatever it is doing within a second or so: a
request in flight, a connect nobody answers, a pacing wait, a Retry-After or backoff wait."""

from __future__ import annotations

import threading
import time

import pytest

from sectorwatch.demo.server import Response, dripping, unanswered_port
from sectorwatch.errors import FetchError
from sectorwatch.fetch.http import FetchStopped, HttpClient
from tests.fetch.test_http import FEED, settings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def site(make_site):
    return make_site()


def stopped_after(seconds: float) -> threading.Event:
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    return stop


def fetch_until_stopped(client: HttpClient, url: str) -> float:
    """Seconds until ``client.get(url)`` gave up with FetchStopped."""
    t0 = time.monotonic()
    with pytest.raises(FetchStopped) as info:
        client.get(url, accept="feed")
    client.close()
    assert info.value.kind == "stopped"
    return time.monotonic() - t0


def test_a_stop_abandons_a_request_whose_headers_drip(site, store):
    site.handle("/feed", dripping(Response(200, FEED, (("X-Padding", "x" * 2000),))))
    client = HttpClient(settings(total_timeout=60), store, stop=stopped_after(0.3))
    assert fetch_until_stopped(client, f"{site.base}/feed") < 3


def test_a_stop_ends_a_connect_that_is_never_answered(store):
    with unanswered_port() as port:
        client = HttpClient(settings(connect_timeout=60, total_timeout=60,
                                     respect_robots=False), store, stop=stopped_after(0.3))
        assert fetch_until_stopped(client, f"http://127.0.0.1:{port}/feed") < 3


def test_a_stop_ends_the_pause_between_requests_to_a_host(site, store):
    site.route("/feed", FEED, "application/rss+xml")
    stop = threading.Event()
    client = HttpClient(settings(per_host_delay=60, respect_robots=False), store, stop=stop)
    client.get(f"{site.base}/feed", accept="feed")
    threading.Timer(0.3, stop.set).start()
    assert fetch_until_stopped(client, f"{site.base}/feed") < 3
    assert site.count("/feed") == 1  # the second request was never sent


@pytest.mark.parametrize("answer", [
    Response(429, b"slow down", (("Retry-After", "60"),)),  # waited out: under the max wait
    Response(503, b"down"),  # retried after a backoff
])
def test_a_stop_ends_a_wait_before_a_retry(site, store, answer):
    site.handle("/feed", lambda h: answer)
    client = HttpClient(settings(retry_after_max_wait=120, backoff=60), store,
                        stop=stopped_after(0.3))
    assert fetch_until_stopped(client, f"{site.base}/feed") < 3
    assert site.count("/feed") == 1


def test_a_request_that_completes_just_after_a_stop_is_kept(site, store):
    stop = threading.Event()

    def answer(handler):
        stop.set()  # the page is on its way as the stop comes
        return Response(200, FEED, (("Content-Type", "application/rss+xml"),))

    site.handle("/feed", answer)
    client = HttpClient(settings(), store, stop=stop)
    assert client.get(f"{site.base}/feed", accept="feed").status == 200
    with pytest.raises(FetchStopped):  # but nothing new starts
        client.get(f"{site.base}/feed", accept="feed")
    assert site.count("/feed") == 1
    client.close()


def test_a_stopped_robots_request_says_nothing_about_the_host(site, store):
    site.handle("/robots.txt", dripping(Response(200, b"User-agent: *\nDisallow: /\n")))
    site.route("/feed", FEED, "application/rss+xml")
    client = HttpClient(settings(), store, stop=stopped_after(0.3))
    assert fetch_until_stopped(client, f"{site.base}/feed") < 3
    assert store.load_robots(site.base) is None
    again = HttpClient(settings(), store)  # a later run asks for robots.txt again
    site.handlers.pop("/robots.txt")
    site.route("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    assert again.get(f"{site.base}/feed", accept="feed").status == 200
    again.close()


def test_without_a_stop_a_timeout_is_still_a_timeout(site, store):
    site.handle("/feed", dripping(Response(200, FEED)))
    client = HttpClient(settings(total_timeout=0.5, max_attempts=1), store)
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/feed", accept="feed")
    client.close()
    assert info.value.kind == "timeout" and not isinstance(info.value, FetchStopped)
