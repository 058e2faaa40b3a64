"""The whole reader journey in Debian's Chromium (Playwright): subscribe, the confirmation
mail at aiosmtpd, confirm, change preferences, unsubscribe; screenshots at desktop and
phone widths (set SECTORWATCH_SCREENSHOTS to keep them)."""

from __future__ import annotations

import re

import pytest

from sectorwatch.digest.subscribers import Filters
from tests.web.conftest import LEEDS, link_in

WIDTHS = {"desktop": 1280, "phone": 375}


def open_page(browser, device: str):
    """A fresh context at the device's width: (context, page, the console errors and
    script errors it reports)."""
    context = browser.new_context(viewport={"width": WIDTHS[device], "height": 900},
                                  is_mobile=device == "phone")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return context, page, problems


@pytest.mark.parametrize("device", WIDTHS)
def test_subscribe_confirm_manage_unsubscribe_in_a_browser(served, browser, screenshots,
                                                           device):
    width = WIDTHS[device]
    context, page, problems = open_page(browser, device)

    def shot(name: str) -> None:
        page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)

    # 1. subscribe: the search box narrows the long list of authorities
    page.goto(served.url + "/")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Find an authority").fill("worces")
    assert page.locator("#authority-list label.check:visible").count() == 1
    page.get_by_label("Worcestershire").check()
    page.get_by_label("Ofsted & inspection").check()
    shot("subscribe")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url("**/subscribe/sent")
    assert page.get_by_role("heading", name="Check your email").is_visible()
    assert served.status("sam@example.org") == "pending"

    # 2. the confirmation mail arrives; its link opens a page, which changes nothing
    [message] = served.mails_to("sam@example.org")
    page.goto(link_in(message, "/c/"))
    assert page.get_by_text("Worcestershire; Ofsted & inspection").is_visible()
    shot("confirm")
    assert served.status("sam@example.org") == "pending"

    # 3. confirm with the button
    page.get_by_role("button", name="Confirm subscription").click()
    page.wait_for_url(re.compile(r".*/m/.*\?done=confirmed$"))
    assert page.get_by_role("status").inner_text().startswith("Thank you")
    assert served.status("sam@example.org") == "active"
    assert served.filters("sam@example.org") == Filters(("E10000034",), (), ("inspection",))

    # 4. change preferences: Leeds instead of Worcestershire, plain text
    page.get_by_label("Worcestershire").uncheck()
    page.get_by_label("Find an authority").fill("leeds")
    page.get_by_label("Leeds").check()
    page.get_by_label("Plain text").check()
    page.get_by_role("button", name="Save choices").click()
    page.wait_for_url(re.compile(r".*\?done=saved$"))
    assert page.get_by_label("Leeds").is_checked()
    assert page.get_by_text("Leeds; Ofsted & inspection").is_visible()
    shot("manage")
    assert served.filters("sam@example.org") == Filters((LEEDS,), (), ("inspection",))
    assert {s.email: s.format for s, _ in served.store.subscribers()}["sam@example.org"] \
        == "text"

    # 5. unsubscribe from the same page
    page.get_by_role("button", name="Unsubscribe").click()
    assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
    shot("unsubscribed")
    assert served.status("sam@example.org") == "unsubscribed"

    # and the reading pages, for the record
    for path, name in (("/authorities/worcestershire", "authority"),
                       ("/archive/2026-W48", "issue")):
        page.goto(served.url + path)
        shot(name)
    assert not problems, problems  # no CSP refusals, no script errors
    context.close()


@pytest.mark.parametrize("device", WIDTHS)
def test_search_from_the_header_box_in_a_browser(served, browser, screenshots, device):
    from tests.web.test_search import KINSHIP, add_kinship_stories

    add_kinship_stories(served)
    width = WIDTHS[device]
    context, page, problems = open_page(browser, device)

    def fits() -> bool:  # nothing wider than the screen
        return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(served.url + "/")
    assert fits()
    box = page.get_by_role("search").get_by_label("Search articles")
    box.fill("kinship carers")
    box.press("Enter")
    page.wait_for_url("**/search?q=kinship+carers")
    assert page.get_by_role("heading", name=f"Results 1–20 of {KINSHIP}").is_visible()
    hits = page.locator("article.hit")
    assert hits.count() == 20
    marks = hits.first.locator("mark")
    assert marks.first.is_visible() and marks.first.inner_text().lower() in ("kinship", "carers")
    assert page.get_by_label("Search articles").input_value() == "kinship carers"
    assert fits()
    page.screenshot(path=str(screenshots / f"search-{width}.png"), full_page=True)

    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**/search?q=kinship+carers&page=2")
    assert page.get_by_role("heading", name=f"Results 21–{KINSHIP} of {KINSHIP}").is_visible()
    assert hits.count() == KINSHIP - 20
    assert page.get_by_role("link", name="Norfolk").first.is_visible()  # an authority chip
    assert fits()
    page.get_by_role("link", name="Previous").click()
    page.wait_for_url("**/search?q=kinship+carers")

    assert not problems, problems  # no CSP refusals, no script errors

    page.get_by_label("Search articles").fill('"kinship carers')  # a quote left open
    page.get_by_role("button", name="Search").click()
    assert page.get_by_role("alert").inner_text().startswith("A quote is not closed.")
    assert fits()
    # the page's own 400 is all Chromium reports
    assert [p for p in problems if "status of 400" not in p] == [], problems
    context.close()
