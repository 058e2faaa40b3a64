from sectorwatch.urls import canonicalize, origin, same_site


def test_canonicalize():
    assert canonicalize("HTTPS://WWW.Example.ORG:443/Path/?utm_source=x&id=3&fbclid=y#frag") == \
        "https://www.example.org/Path/?id=3"
    assert canonicalize("../b?x=1", "https://e.org/a/c/") == "https://e.org/a/b?x=1"
    assert canonicalize("https://e.org") == "https://e.org/"
    assert canonicalize("http://e.org:8080/x") == "http://e.org:8080/x"
    # untouched queries keep their exact spelling (GOV.UK's %5B%5D)
    url = "https://www.gov.uk/search/news.atom?organisations%5B%5D=ofsted"
    assert canonicalize(url) == url


def test_origin_and_same_site():
    assert origin("HTTP://127.0.0.1:5000/x?y") == "http://127.0.0.1:5000"
    assert same_site("https://www.e.org/a", "https://e.org/b")
    assert not same_site("https://e.org/a", "https://f.org/a")
    assert not same_site("http://127.0.0.1:1/a", "http://127.0.0.1:2/a")


def test_tests_cannot_reach_beyond_loopback():
    import socket

    import pytest

    with pytest.raises(AssertionError, match="only loopback"), socket.socket() as s:
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed anyway
