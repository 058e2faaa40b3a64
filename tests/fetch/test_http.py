"""The HTTP client against a real server on 127.0.0.1."""

from __future__ import annotations

import itertools
import socket
import time

import pytest

from sectorwatch.config import FetchSettings
from sectorwatch.demo.server import Response, trickle_server, unanswered_port
from sectorwatch.errors import FetchError
from sectorwatch.fetch.http import HttpClient, retry_after_seconds

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"



def gives_up(client: HttpClient, url: str) -> FetchError:
    """The error a GET of ``url`` ends in, well within 5 s (total_timeout is 1 s)."""
    t0 = time.monotonic()
    with pytest.raises(FetchError) as info:
        client.get(url, accept="feed")
    assert time.monotonic() - t0 < 5
    client.close()
    return info.value

def settings(**kw) -> FetchSettings:
    base = dict(user_agent="sectorwatch-test/1.0 (+http://127.0.0.1/about)", per_host_delay=0,
                backoff=0.01, read_timeout=0.5, total_timeout=5, retry_after_max_wait=2)
    return FetchSettings(**(base | kw))


@pytest.fixture
def site(make_site):
    return make_site()


@pytest.fixture
def client(store):
    c = HttpClient(settings(), store)
    yield c
    c.close()


def test_identifies_itself_and_records_final_url(site, client):
    site.route("/feed", FEED, "application/rss+xml")
    site.handle("/old", lambda h: Response(301, b"", (("Location", "/feed"),)))
    page = client.get(f"{site.base}/old", accept="feed")
    assert page.final_url == f"{site.base}/feed"
    assert page.redirects == ((301, f"{site.base}/feed"),)
    _path, headers = site.requests[-1]
    assert headers["user-agent"].startswith("sectorwatch-test/1.0")
    assert "application/rss+xml" in headers["accept"]


def test_conditional_get_gives_none_on_304(site, client):
    site.route("/feed", FEED, "application/rss+xml")
    first = client.get(f"{site.base}/feed", accept="feed")
    assert first.etag and first.last_modified
    assert client.get_conditional(f"{site.base}/feed", accept="feed",
                                  validators=(first.etag, first.last_modified)) is None
    assert site.requests[-1][1]["if-none-match"] == first.etag
    # a changed resource answers 200 again despite the old validators
    site.route("/feed", FEED.replace(b"<title>t", b"<title>t2"), "application/rss+xml")
    assert client.get_conditional(f"{site.base}/feed", accept="feed",
                                  validators=(first.etag, first.last_modified)) is not None


def test_500_then_200_is_retried(hostile, client):
    assert client.get(hostile.url("500-then-ok"), accept="feed").status == 200
    assert hostile.count("500-then-ok") == 2


def test_persistent_500_gives_up_after_max_attempts(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("500"), accept="feed")
    assert info.value.kind == "http" and info.value.status == 500
    assert hostile.count("500") == 3


def test_404_is_not_retried(site, client):
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/missing", accept="html")
    assert info.value.status == 404 and site.count("/missing") == 1


def test_slow_server_times_out(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("slow"), accept="feed")
    assert info.value.kind == "timeout"
    assert info.value.message == "timed out: no answer within 0.5s"


def test_dripping_body_hits_the_total_timeout(hostile, store):
    client = HttpClient(settings(total_timeout=0.5, max_attempts=1), store)
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("drip-body"), accept="html")
    assert info.value.kind == "timeout" and "not complete" in info.value.message


@pytest.mark.timeout(20)
def test_a_server_dripping_its_headers_cannot_outlast_total_timeout(hostile, store):
    # a byte every 0.1 s: every read is answered well within read_timeout (0.5 s)
    error = gives_up(HttpClient(settings(total_timeout=1, max_attempts=1), store),
                     hostile.url("drip-headers"))
    assert error.kind == "timeout"
    assert error.message == "timed out: response not complete within 1s (total_timeout)"


@pytest.mark.timeout(20)
def test_a_tls_handshake_dripped_by_the_server_cannot_outlast_total_timeout(store):
    # a TLS handshake record that announces 16 kB and sends them a byte at a time
    with trickle_server(b"\x16\x03\x03\x40\x00" + b"\x00" * 16_384) as port:
        error = gives_up(HttpClient(settings(total_timeout=1, max_attempts=1,
                                             respect_robots=False), store),
                         f"https://127.0.0.1:{port}/feed")
    assert error.kind == "timeout" and "total_timeout" in error.message


@pytest.mark.timeout(20)
def test_a_connect_that_is_never_answered_cannot_outlast_total_timeout(store):
    with unanswered_port() as port:
        error = gives_up(HttpClient(settings(total_timeout=1, connect_timeout=30,
                                             max_attempts=1, respect_robots=False), store),
                         f"http://127.0.0.1:{port}/feed")
    assert error.kind == "timeout" and "total_timeout" in error.message


def test_dropped_connection_is_a_connection_error(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("drop"), accept="html")
    assert info.value.kind == "connection"
    assert hostile.count("drop") == 3  # retried: connection errors are transient


def test_short_retry_after_is_waited_out(hostile, client):
    assert client.get(hostile.url("429-then-ok"), accept="feed").status == 200
    calls = hostile.calls("429-then-ok")
    assert calls[1] - calls[0] >= 0.9


def test_long_retry_after_backs_off_the_whole_host(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("429-long"), accept="feed")
    assert info.value.kind == "rate_limited" and info.value.retry_after == 3600
    with pytest.raises(FetchError) as info:  # anything else on that host waits too
        client.get(hostile.url("slow"), accept="html")
    assert info.value.kind == "rate_limited"
    assert f"(HTTP 429 to {hostile.url('429-long')})" in info.value.message
    assert hostile.count("429-long") == 1 and hostile.count("slow") == 0


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) == 3600
    assert retry_after_seconds("999999999") == 86_400
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert 0 < retry_after_seconds(time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                 time.gmtime(time.time() + 600))) <= 600


def test_redirect_loop_is_an_error(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("loop-a"), accept="html")
    assert info.value.kind == "redirects" and "loop" in info.value.message


def test_more_than_five_redirects_is_an_error(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("chain0"), accept="html")
    assert info.value.kind == "redirects" and hostile.count("chain6") == 0


@pytest.mark.parametrize("mode", ["big", "big-declared"])
def test_ten_megabyte_body_is_abandoned(hostile, client, mode):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url(mode), accept="html")
    assert info.value.kind == "too_large"
    assert hostile.count(mode) == 1  # not retried


def test_wrong_content_type_is_an_error(site, client):
    site.route("/page", b"\x89PNG\r\n\x1a\n...", "image/png")
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/page", accept="html")
    assert info.value.kind == "content_type"


def test_html_where_feed_expected_says_feed_moved(site, client):
    site.route("/feed", "<!doctype html><html><body>Welcome!</body></html>")
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/feed", accept="feed")
    assert "has the feed moved?" in info.value.message


def test_feed_served_as_text_html_is_still_read(site, client):
    site.route("/feed", FEED, "text/html; charset=utf-8")
    assert client.get(f"{site.base}/feed", accept="feed").status == 200


def test_cp1252_without_charset_is_decoded(site, client):
    text = "<html><body><p>The council’s £3.5m “plan”</p></body></html>"
    site.route("/page", text.encode("cp1252"), "text/html")
    page = client.get(f"{site.base}/page", accept="html")
    assert page.encoding == "cp1252" and "council’s £3.5m “plan”" in page.text


def test_403_is_classed_as_blocked(hostile, client):
    with pytest.raises(FetchError) as info:
        client.get(hostile.url("challenge"), accept="html")
    assert info.value.kind == "blocked" and hostile.count("challenge") == 1


def test_one_request_at_a_time_per_host_with_a_delay(site, store):
    from concurrent.futures import ThreadPoolExecutor

    stamps = []

    def record(handler):
        stamps.append(time.monotonic())
        return Response(200, b"<html><body>ok</body></html>", (("Content-Type", "text/html"),))

    for i in range(4):
        site.handle(f"/p{i}", record)
    client = HttpClient(settings(per_host_delay=0.2), store)
    client.pacer.jitter = 0
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: client.get(f"{site.base}/p{i}", accept="html"), range(4)))
    stamps.sort()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.19


def test_connection_errors_are_told_in_plain_words(store):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpClient(settings(max_attempts=1, respect_robots=False), store)
    with pytest.raises(FetchError) as info:
        client.get(f"http://127.0.0.1:{port}/feed", accept="feed")
    assert info.value.message == "connection failed: connection refused"


def test_redirect_target_is_followed_exactly(site, client):
    site.route("/signed?utm_source=x&sig=1", "<html><body>ok</body></html>")
    site.handle("/go", lambda h: Response(302, b"", (("Location", "/signed?utm_source=x&sig=1"),)))
    page = client.get(f"{site.base}/go", accept="html")
    assert page.final_url == f"{site.base}/signed?utm_source=x&sig=1"


@pytest.fixture
def public_site(monkeypatch):
    """A site on 127.0.0.2 that counts as a public address, named news.example.org; the
    resolver maps evil.example.org to 127.0.0.1 (a DNS trick)."""
    from sectorwatch.demo.server import Site
    from sectorwatch.fetch import addresses, watchdog

    real_resolve, real_reserved = watchdog.resolve, addresses.reserved
    names = {"news.example.org": "127.0.0.2", "evil.example.org": "127.0.0.1"}
    monkeypatch.setattr(watchdog, "resolve", lambda host, *a: real_resolve(
        names.get(host, host), *a))
    monkeypatch.setattr(watchdog, "reserved",
                        lambda ip: None if ip == "127.0.0.2" else real_reserved(ip))
    site = Site("public", host="127.0.0.2").start()
    yield site
    site.stop()


def test_a_public_source_is_never_led_to_a_private_address(public_site, site, store):
    from sectorwatch.fetch.http import SourceFetcher

    port = public_site.base.rsplit(":", 1)[1]
    home = f"http://news.example.org:{port}"
    site.route("/secret", FEED, "application/rss+xml")  # an internal service on 127.0.0.1
    inner = site.base.rsplit(":", 1)[1]
    public_site.route("/feed", FEED, "application/rss+xml")
    public_site.handle("/moved", lambda h: Response(302, b"", (("Location",
                                                                f"{site.base}/secret"),)))
    public_site.handle("/trick", lambda h: Response(302, b"", (("Location",
                       f"http://evil.example.org:{inner}/secret"),)))
    client = HttpClient(settings(respect_robots=False), store)
    fetcher = SourceFetcher(client, None, f"{home}/feed")
    assert fetcher.get(f"{home}/feed", accept="feed") is not None  # its own address is fine
    for path in ("/moved", "/trick"):
        with pytest.raises(FetchError) as info:
            fetcher.get(f"{home}{path}", accept="feed")
        assert info.value.kind == "blocked"
        assert "127.0.0.1, a loopback address" in info.value.message
    assert site.count("/secret") == 0  # never reached
    demo = SourceFetcher(client, None, f"{site.base}/feed")  # a source on 127.0.0.1 itself
    assert demo.get(f"{site.base}/secret", accept="feed") is not None
    client.close()
