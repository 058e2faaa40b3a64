from sectorwatch.config import parse_config
from sectorwatch.fetch.http import HttpClient, SourceFetcher
from sectorwatch.sources.html_listing import discover, parse_listing
from tests.fetch.test_http import settings

LISTING = """<html><head><base href="https://www.cypnow.co.uk/"></head><body>
<nav><a href="/jobs">Jobs</a><a href="/subscribe">Subscribe</a></nav>
<article class="r"><h3><a href="content/news/one?utm_campaign=x">One</a></h3></article>
<article class="r"><h3><a href="https://www.cypnow.co.uk/content/news/two#top">Two</a></h3></article>
<article class="r"><h3><span>no link</span></h3></article>
<a class="next" rel="next" href="/search?page=2">Next</a></body></html>"""


def test_links_by_selector_resolved_against_base_tag():
    links, nxt = parse_listing(LISTING, "https://www.cypnow.co.uk/search?page=1", "article.r h3",
                               "a[rel~=next]")
    assert [(lk.url, lk.title) for lk in links] == [
        ("https://www.cypnow.co.uk/content/news/one", "One"),
        ("https://www.cypnow.co.uk/content/news/two", "Two")]
    assert nxt == "https://www.cypnow.co.uk/search?page=2"


def page(n: int, total: int) -> str:
    nxt = f'<a rel="next" href="/list?page={n + 1}">Next</a>' if n < total else ""
    items = "".join(f'<h2><a href="/news/{n}-{i}">Story {n}-{i}</a></h2>' for i in range(3))
    return f"<html><body>{items}<a href='https://elsewhere.example/x'>ad</a>{nxt}</body></html>"


def test_discovery_follows_next_pages_up_to_max_pages(make_site, store):
    site = make_site()
    for n in range(1, 5):
        site.route(f"/list?page={n}", page(n, 4))
    config = parse_config(f"""sources:
  - id: l
    type: html_listing
    url: "{site.base}/list?page=1"
    link_selector: "h2 a, a"
    next_selector: "a[rel~=next]"
    max_pages: 3
    article_url_pattern: '^/news/'
""", "t.yaml")
    found = discover(config.sources[0], SourceFetcher(HttpClient(settings(), store), store))
    assert [lk.url.rsplit("/", 1)[1] for lk in found.links] == [
        f"{n}-{i}" for n in (1, 2, 3) for i in range(3)]
    assert [site.count(f"/list?page={n}") for n in range(1, 5)] == [1, 1, 1, 0]
    assert [p.url for p in found.validated] == [f"{site.base}/list?page=1"]
