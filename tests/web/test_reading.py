"""The archive, the authority pages and their Atom feeds, over real HTTP."""

from __future__ import annotations

import feedparser
import requests

from sectorwatch.digest import snapshot
from sectorwatch.digest.issue import week_entries
from sectorwatch.digest.select import week_before
from tests.web.conftest import HOSTILE, SEND


def test_the_archive_lists_sent_issues_and_shows_each_in_full(served):
    listing = requests.get(served.url + "/archive")
    assert listing.status_code == 200 and "/archive/2026-W48" in listing.text
    issue = requests.get(served.url + "/archive/2026-W48")
    assert issue.status_code == 200
    assert "Ofsted rates Worcestershire children&#39;s services inadequate" in issue.text
    assert "Leeds launches drive to recruit foster carers" in issue.text
    assert "Authority watch" in issue.text and "inadequate" in issue.text
    assert 'href="/authorities/worcestershire">Worcestershire</a>' in issue.text
    assert "<script>alert" not in issue.text
    for missing in ("/archive/2026-W01", "/archive/nonsense", "/archive/..%2Fetc"):
        assert requests.get(served.url + missing).status_code == 404


def test_an_issue_frozen_but_never_sent_is_not_in_the_archive(served):
    start, end = week_before(SEND.replace(day=30))
    served.store.freeze_issue("2026-W49", SEND.replace(day=30), start, end,
                              snapshot.dumps(week_entries(served.config, served.store, start,
                                                          end)), 0)
    assert "2026-W49" not in requests.get(served.url + "/archive").text
    assert requests.get(served.url + "/archive/2026-W49").status_code == 404


def test_the_issues_feed_is_valid_atom(served):
    answer = requests.get(served.url + "/archive.atom")
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    [entry] = feed.entries
    assert entry.link == served.url + "/archive/2026-W48"
    assert entry.title == "Children's services this week: 23 November 2026"
    assert "3 stories" in entry.summary


def test_the_authority_page_has_its_timeline_and_recent_stories(served):
    page = requests.get(served.url + "/authorities/worcestershire")
    assert page.status_code == 200
    timeline = page.text.split('id="timeline"')[1].split('id="recent"')[0]
    assert "October 2026" in timeline and "Full inspection" in timeline
    assert "inadequate" in timeline
    recent = page.text.split('id="recent"')[1]
    assert recent.count('class="story"') == 2  # Leeds is not Worcestershire's
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;friends&#34;" in recent
    assert "<script>alert" not in page.text
    assert 'href="/?authority=E10000034"' in page.text  # follow it by email
    # the code is an address too, sent on to the name
    moved = requests.get(served.url + "/authorities/E10000034", allow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == \
        (301, "/authorities/worcestershire")
    assert requests.get(served.url + "/authorities/atlantis").status_code == 404
    leeds = requests.get(served.url + "/authorities/leeds").text
    assert "No inspection outcome has been reported" in leeds


def test_the_authority_feed_is_valid_atom_with_hostile_titles_escaped(served):
    answer = requests.get(served.url + "/authorities/worcestershire.atom")
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Worcestershire: children's services news"
    titles = [e.title for e in feed.entries]
    assert HOSTILE in titles and len(titles) == 2
    assert b"<script>" not in answer.content


def test_the_authorities_index_and_the_subscribe_form_preselect(served):
    index = requests.get(served.url + "/authorities").text
    assert 'href="/authorities/worcestershire"' in index
    assert 'href="/authorities/dorset-2019"' not in index  # gone, and no stories about it
    form = requests.get(served.url + "/?authority=E10000034").text
    assert 'value="E10000034" checked' in form
    assert form.count(" checked") == 2  # it, and the formatted-email default


def test_a_former_authority_points_to_the_ones_that_replaced_it(served):
    page = requests.get(served.url + "/authorities/cumbria-2023").text
    assert "until 2023" in page and "Follow Cumbria by email" not in page
    replaced = page.split("Replaced by")[1].split("</p>")[0]
    assert replaced.count('href="/authorities/') == 2
