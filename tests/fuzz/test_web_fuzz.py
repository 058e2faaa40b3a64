"""Tokens and form posts against the real web app on 127.0.0.1: every answer is a page
with the security headers, never a server error."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from sectorwatch.cli.serve import server
from sectorwatch.config import parse_config
from sectorwatch.store import Store
from sectorwatch.tokens import Signer
from sectorwatch.web import create_app
from tests.web.conftest import free_port

FIELDS = st.dictionaries(st.sampled_from(["email", "name", "authority", "region", "topic",
                                          "format", "csrf", "x"]),
                         st.text(max_size=60), max_size=6)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    port = free_port()
    folder = tmp_path_factory.mktemp("web")
    config = parse_config(
        f"database_url: 'sqlite:///{folder / 'sw.db'}'\nsources: []\n"
        f"digest:\n  base_url: 'http://127.0.0.1:{port}'\n", "fuzz.yaml")
    store = Store.open(config.database_url)
    app = create_app(config, store, Signer((b"f" * 32,)))
    uv = server(app, "127.0.0.1", port, (), per_client=1000)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
    store.close()


def answered(response: requests.Response) -> None:
    assert response.status_code < 500, response.text[:200]
    assert "default-src 'none'" in response.headers.get("content-security-policy", "")


@given(FIELDS)
def test_form_posts(site, fields):
    answered(requests.post(f"{site}/subscribe", data=fields, timeout=10,
                           allow_redirects=False))


@given(st.sampled_from(["c", "m", "u"]), st.text(max_size=120),
       st.sampled_from(["GET", "POST"]))
def test_tokens(site, kind, token, method):
    answered(requests.request(method, f"{site}/{kind}/{quote(token, safe='')}", timeout=10,
                              allow_redirects=False))


@given(st.text(max_size=80))
def test_pages_and_queries(site, text):
    for path in (f"/authorities/{quote(text, safe='')}", f"/archive?week={quote(text)}",
                 f"/search?q={quote(text)}"):
        answered(requests.get(site + path, timeout=10, allow_redirects=False))
