"""The HTTP client against a real server on 127.0.0.1."""

from __future__ import annotations

import itertools
import socket
import time

import pytest

from sectorwatch.config import FetchSettings
from sectorwatch.demo.server import Response, dripping, trickle_server, unanswered_port
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
    assert client.get(f"{site.base}/feed", accept="feed",
                      validators=(first.etag, first.last_modified)) is None
    assert site.requests[-1][1]["if-none-match"] == first.etag
    # a changed resource answers 200 again despite the old validators
    site.route("/feed", FEED.replace(b"<title>t", b"<title>t2"), "application/rss+xml")
    assert client.get(f"{site.base}/feed", accept="feed",
                      validators=(first.etag, first.last_modified)) is not None


def test_500_then_200_is_retried(site, client):
    calls = []

    def flaky(handler):
        calls.append(1)
        if len(calls) == 1:
            return Response(500, b"oops", (("Content-Type", "text/plain"),))
        return Response(200, FEED, (("Content-Type", "application/rss+xml"),))

    site.handle("/feed", flaky)
    assert client.get(f"{site.base}/feed", accept="feed").status == 200
    assert len(calls) == 2


def test_persistent_500_gives_up_after_max_attempts(site, client):
    site.handle("/feed", lambda h: Response(500, b"no"))
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/feed", accept="feed")
    assert info.value.kind == "http" and info.value.status == 500
    assert site.count("/feed") == 3


def test_404_is_not_retried(site, client):
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/missing", accept="html")
    assert info.value.status == 404 and site.count("/missing") == 1


def test_slow_server_times_out(site, client):
    def slow(handler):
        time.sleep(1.0)
        return Response(200, FEED)

    site.handle("/slow", slow)
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/slow", accept="feed")
    assert info.value.kind == "timeout"
    assert info.value.message == "timed out: no answer within 0.5s"


def test_dripping_body_hits_the_total_timeout(site, store):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        for _ in range(40):
            handler.wfile.write(b"<p>x</p>" * 10)
            handler.wfile.flush()
            time.sleep(0.1)
        handler.close_connection = True

    site.handle("/drip", drip)
    client = HttpClient(settings(total_timeout=0.5, max_attempts=1), store)
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/drip", accept="html")
    assert info.value.kind == "timeout" and "not complete" in info.value.message


@pytest.mark.timeout(20)
def test_a_server_dripping_its_headers_cannot_outlast_total_timeout(site, store):
    # a byte every 0.1 s: every read is answered well within read_timeout (0.5 s)
    site.handle("/feed", dripping(Response(200, FEED, (("Content-Type", "text/xml"),
                                                       ("X-Padding", "x" * 2000)))))
    error = gives_up(HttpClient(settings(total_timeout=1, max_attempts=1), store),
                     f"{site.base}/feed")
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


def drop(handler):
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def test_dropped_connection_is_a_connection_error(site, client):
    site.handle("/drop", drop)
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/drop", accept="html")
    assert info.value.kind == "connection"
    assert site.count("/drop") == 3  # retried: connection errors are transient


def test_short_retry_after_is_waited_out(site, client):
    calls = []

    def limited(handler):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response(429, b"slow down", (("Retry-After", "1"),))
        return Response(200, FEED, (("Content-Type", "application/rss+xml"),))

    site.handle("/feed", limited)
    assert client.get(f"{site.base}/feed", accept="feed").status == 200
    assert calls[1] - calls[0] >= 0.9


def test_long_retry_after_backs_off_the_whole_host(site, client):
    site.handle("/feed", lambda h: Response(429, b"no", (("Retry-After", "3600"),)))
    site.route("/other", "<html><body>x</body></html>")
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/feed", accept="feed")
    assert info.value.kind == "rate_limited" and info.value.retry_after == 3600
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/other", accept="html")
    assert info.value.kind == "rate_limited"
    assert site.count("/feed") == 1 and site.count("/other") == 0


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) == 3600
    assert retry_after_seconds("999999999") == 86_400
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert 0 < retry_after_seconds(time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                                 time.gmtime(time.time() + 600))) <= 600


def test_redirect_loop_is_an_error(site, client):
    site.handle("/a", lambda h: Response(302, b"", (("Location", "/b"),)))
    site.handle("/b", lambda h: Response(302, b"", (("Location", "/a"),)))
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/a", accept="html")
    assert info.value.kind == "redirects" and "loop" in info.value.message


def test_more_than_five_redirects_is_an_error(site, client):
    for i in range(7):
        site.handle(f"/r{i}", lambda h, i=i: Response(301, b"", (("Location", f"/r{i + 1}"),)))
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/r0", accept="html")
    assert info.value.kind == "redirects" and site.count("/r6") == 0


def big(handler, size=10_000_000, declare=False):
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    if declare:
        handler.send_header("Content-Length", str(size))
    handler.end_headers()
    handler.close_connection = True
    chunk = b"<p>" + b"x" * 65_000 + b"</p>"
    try:
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)
    except OSError:
        pass  # the client hung up, as it should


@pytest.mark.parametrize("declare", [True, False])
def test_ten_megabyte_body_is_abandoned(site, client, declare):
    site.handle("/big", lambda h: big(h, declare=declare))
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/big", accept="html")
    assert info.value.kind == "too_large"
    assert site.count("/big") == 1  # not retried


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


def test_403_is_classed_as_blocked(site, client):
    site.handle("/p", lambda h: Response(403, b"<title>Just a moment...</title>",
                                         (("Server", "cloudflare"),)))
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/p", accept="html")
    assert info.value.kind == "blocked" and site.count("/p") == 1


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


def test_a_hosts_back_off_says_which_request_was_told_to_wait(site, store):
    client = HttpClient(settings(retry_after_max_wait=1, respect_robots=False), store)
    site.handle("/busy", lambda h: Response(429, b"slow down", (("Retry-After", "3600"),)))
    site.route("/feed", FEED, "application/rss+xml")
    with pytest.raises(FetchError):
        client.get(f"{site.base}/busy", accept="feed")
    with pytest.raises(FetchError) as info:
        client.get(f"{site.base}/feed", accept="feed")  # a sibling source on the same host
    assert info.value.kind == "rate_limited"
    assert f"(HTTP 429 to {site.base}/busy)" in info.value.message
    assert site.count("/feed") == 0
    client.close()
