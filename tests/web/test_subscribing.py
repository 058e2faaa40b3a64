"""Subscribe, confirm, manage and unsubscribe over real HTTP, with mail through aiosmtpd."""

from __future__ import annotations

import requests

from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.subscribers import Filters, SubscriberSpec
from sectorwatch.digest.transport import SmtpTransport
from sectorwatch.tokens import Signer
from tests.web.conftest import LEEDS, SEND, WORCS, csrf_of, link_in


def subscribe(http, served, address: str, **fields):
    page = http.get(served.url + "/")
    data = {"csrf": csrf_of(page.text), "email": address, "name": "Sam",
            "authority": [WORCS], "topic": ["inspection"], **fields}
    return http.post(served.url + "/subscribe", data=data, allow_redirects=False)


def confirm_link(served, address: str) -> str:
    [message] = served.mails_to(address)
    assert message["Subject"] == "Confirm your Sectorwatch subscription"
    assert message["Auto-Submitted"] == "auto-generated" and "List-Id" not in message
    return link_in(message, "/c/")


def test_double_opt_in_confirms_only_when_the_button_is_pressed(served, http):
    answer = subscribe(http, served, "sam@example.org")
    assert answer.status_code == 303 and answer.headers["location"] == "/subscribe/sent"
    assert served.status("sam@example.org") == "pending"
    assert served.filters("sam@example.org") == Filters((WORCS,), (), ("inspection",))

    link = confirm_link(served, "sam@example.org")
    for _ in range(3):  # a link scanner opening it, and the reader
        page = requests.get(link)
        assert page.status_code == 200 and "Confirm subscription" in page.text
        assert requests.head(link).status_code in (200, 405)
    assert served.status("sam@example.org") == "pending"

    page = http.get(link)
    done = http.post(link, data={"csrf": csrf_of(page.text)}, allow_redirects=False)
    assert done.status_code == 303 and "/m/" in done.headers["location"]
    assert served.status("sam@example.org") == "active"
    welcome = http.get(served.url + done.headers["location"])
    assert "your subscription is confirmed" in welcome.text

    # after unsubscribing, the old confirmation link is no way back in
    served.store.set_subscriber_status("sam@example.org", "unsubscribed")
    assert http.get(link).status_code == 410
    again = http.post(link, data={"csrf": csrf_of(page.text)}, allow_redirects=False)
    assert again.status_code == 410 and served.status("sam@example.org") == "unsubscribed"


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(served, http):
    served.store.save_subscriber(SubscriberSpec("known@example.org", "Known",
                                                filters=Filters((LEEDS,))))
    new = subscribe(http, served, "new@example.org")
    known = subscribe(http, served, "known@example.org")
    assert (new.status_code, new.headers["location"]) == \
        (known.status_code, known.headers["location"])
    assert new.content == known.content
    # the known reader is told, and their choices are untouched by a stranger's form
    [reminder] = served.mails_to("known@example.org")
    assert reminder["Subject"] == "You already subscribe to Sectorwatch"
    assert "/m/" in link_in(reminder, "/m/")
    assert served.status("known@example.org") == "active"
    assert served.filters("known@example.org") == Filters((LEEDS,))


def test_forged_altered_and_misused_tokens_are_refused(served, http):
    subscribe(http, served, "sam@example.org")
    link = confirm_link(served, "sam@example.org")
    token = link.rsplit("/", 1)[1]
    key = served.key("sam@example.org")
    altered = [token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
               ("x" if key[0] != "x" else "y") + token[1:],  # the key
               token.replace(".", ".1", 1)]  # the expiry
    other = Signer((b"another-secret-of-enough-length-0123456789",))
    forged = {"c": other.sign("confirm", key, ttl=3600), "m": other.sign("manage", key),
              "u": other.sign("unsubscribe", key)}
    for bad in altered:
        assert requests.get(f"{served.url}/c/{bad}").status_code == 404, bad
    for prefix, bad in forged.items():
        assert requests.get(f"{served.url}/{prefix}/{bad}").status_code == 404
    assert requests.post(f"{served.url}/u/{forged['u']}",
                         data={"List-Unsubscribe": "One-Click"}).status_code == 404
    # a confirmation token is not a manage or unsubscribe token, nor the other way round
    assert requests.get(f"{served.url}/m/{token}").status_code == 404
    assert requests.post(f"{served.url}/u/{token}",
                         data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert requests.get(f"{served.url}/u/{key}").status_code == 404  # the bare stored key
    assert served.status("sam@example.org") == "pending"


def test_one_click_unsubscribe_from_the_digest_header_needs_no_cookie(served):
    for address in ("one@example.org", "two@example.org"):
        served.store.save_subscriber(SubscriberSpec(address, "Reader"))
    # the issue again: these two new readers get it, with its List-Unsubscribe headers
    config = served.config
    assert send_issue(config, served.store, SmtpTransport(config.digest.smtp), SEND).sent == 2
    headers = {m["To"].addresses[0].addr_spec: m for m in served.inbox.messages}
    urls = {a: m["List-Unsubscribe"].split(",")[0].strip("<> ") for a, m in headers.items()}
    assert all(headers[a]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
               for a in urls)
    urls["reader@example.org"] = (
        f"{served.url}/u/{_signer().sign('unsubscribe', served.key('reader@example.org'))}")

    # what a mailbox provider does: a bare POST, urlencoded or multipart, no cookie
    plain = requests.post(urls["one@example.org"], data="List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          allow_redirects=False)
    multi = requests.post(urls["two@example.org"],
                          files={"List-Unsubscribe": (None, "One-Click")},
                          allow_redirects=False)
    for answer in (plain, multi):
        assert answer.status_code == 200 and "location" not in answer.headers
        assert "set-cookie" not in answer.headers
        assert "You are unsubscribed" in answer.text
    assert served.status("one@example.org") == served.status("two@example.org") == \
        "unsubscribed"
    # a body without the one-click field changes nothing; a GET only shows the button
    assert requests.post(urls["reader@example.org"], data={"x": "y"}).status_code == 400
    page = requests.get(urls["reader@example.org"])
    assert page.status_code == 200 and "List-Unsubscribe" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert served.status("reader@example.org") == "active"


def test_forms_need_their_csrf_token_and_the_same_site(served, http):
    page = http.get(served.url + "/")
    token = csrf_of(page.text)
    base = {"email": "x@example.org", "authority": [WORCS]}
    assert http.post(served.url + "/subscribe", data=base).status_code == 403
    assert requests.post(served.url + "/subscribe",  # no cookie to match the token
                         data={**base, "csrf": token}).status_code == 403
    assert http.post(served.url + "/subscribe", data={**base, "csrf": token},
                     headers={"Origin": "https://evil.example"}).status_code == 403
    assert http.post(served.url + "/subscribe", data={**base, "csrf": token},
                     headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    # an opaque origin passes only when the browser also says it is our own page
    assert http.post(served.url + "/subscribe", data={**base, "csrf": token},
                     headers={"Origin": "null"}).status_code == 403
    assert "x@example.org" not in {s.email for s, _ in served.store.subscribers()}
    assert http.post(served.url + "/subscribe", data={**base, "csrf": token},
                     allow_redirects=False).status_code == 303


def test_manage_changes_preferences_and_refuses_nonsense(served, http):
    served.store.save_subscriber(SubscriberSpec("jo@example.org", "Jo"))
    manage = f"{served.url}/m/{_signer().sign('manage', served.key('jo@example.org'))}"
    page = http.get(manage)
    assert page.status_code == 200 and "jo@example.org" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert http.post(manage, data={"authority": [LEEDS]}).status_code == 403  # no CSRF
    saved = http.post(manage, data={"csrf": csrf_of(page.text), "action": "save",
                                    "authority": [LEEDS], "region": ["London"],
                                    "topic": ["fostering"], "format": "text"},
                      allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?done=saved")
    assert served.filters("jo@example.org") == Filters((LEEDS,), ("London",), ("fostering",))
    assert {s.email: s.format for s, _ in served.store.subscribers()}["jo@example.org"] == \
        "text"
    bad = http.post(manage, data={"csrf": csrf_of(page.text), "action": "save",
                                  "authority": ["E99999999"]})
    assert bad.status_code == 400 and "unknown authority" in bad.text
    assert served.filters("jo@example.org").authorities == (LEEDS,)


def test_subscribing_is_rate_limited_per_client_and_mail_per_address(serve_web, http):
    served = serve_web("  subscribe_rate: 4\n  mails_per_address: 2\n")
    answers = [subscribe(http, served, "sam@example.org").status_code for _ in range(5)]
    assert answers == [303, 303, 303, 303, 429]
    limited = subscribe(http, served, "sam@example.org")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert len(served.mails_to("sam@example.org", 2)) == 2
    import time

    time.sleep(0.3)
    assert len([m for m in served.inbox.messages if "sam@" in m["To"]]) == 2


def test_every_page_carries_the_security_headers(served):
    for path in ("/", "/archive", "/authorities/worcestershire", "/nope", "/archive.atom"):
        headers = requests.get(served.url + path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"  # tokens never leave the site
        assert headers["x-frame-options"] == "DENY"
        assert "server" not in headers
    too_big = requests.post(served.url + "/subscribe", data="x" * 70_000,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413  # refused, and still with every header
    assert "default-src 'none'" in too_big.headers["content-security-policy"]
    assert too_big.headers["x-frame-options"] == "DENY"


def _signer() -> Signer:
    from sectorwatch.tokens import signer_from_env

    return signer_from_env("SECTORWATCH_SECRET")


def test_an_address_no_mail_can_reach_is_refused_on_the_form(served, http):
    answer = subscribe(http, served, "jörg@exämple.de")
    assert answer.status_code == 400
    assert "cannot send to an address with accented or non-Latin letters" in answer.text
    assert served.store.subscriber_state("jörg@exämple.de") is None
    assert served.inbox.messages == []  # refused before any mail could be queued
    # a domain in another script is fine: it is kept in its routable (IDNA) form
    assert subscribe(http, served, "jo@exämple.de").status_code == 303
    assert served.status("jo@xn--exmple-cua.de") == "pending"


def test_a_bounced_reader_can_come_back_from_their_own_manage_page(served, http):
    served.store.save_subscriber(SubscriberSpec("bo@example.org", "Bo"))
    [(sid, _, key)] = [r for r in served.store.subscriber_rows() if r[1].email ==
                       "bo@example.org"]
    assert served.store.record_hard_failure(sid, "550 5.1.1 no such user", limit=1)
    manage = f"{served.url}/m/{_signer().sign('manage', key)}"
    page = http.get(manage)
    assert "mail to this address was refused" in page.text and "Subscribe again" in page.text
    done = http.post(manage, data={"csrf": csrf_of(page.text), "action": "resubscribe"},
                     allow_redirects=False)
    assert done.status_code == 303 and served.status("bo@example.org") == "active"
    assert served.store.subscriber_state("bo@example.org").via == "web"
