from __future__ import annotations

import pytest

from sectorwatch.config import load_config
from sectorwatch.digest.subscribers import (
    Filters,
    SubscriberError,
    SubscriberSpec,
    check_email,
    parse_csv,
    resolve_filters,
    to_csv,
)

TOPICS = [t.slug for t in load_config(None).topics]


def test_addresses_are_normalised_or_refused():
    assert check_email("  Jo.Bloggs@Example.ORG ") == "Jo.Bloggs@example.org"
    for bad in ("nope", "a@b", "x@example..org", "evil@example.org\r\nBcc: x@y.z"):
        with pytest.raises(SubscriberError):
            check_email(bad)


def test_filters_resolve_names_codes_and_case():
    f = resolve_filters(["worcestershire", "E06000019"], ["west midlands"], ["inspection"],
                        TOPICS)
    assert f == Filters(("E10000034", "E06000019"), ("West Midlands",), ("inspection",))
    assert f.describe() == "Herefordshire, Worcestershire; West Midlands; inspection"
    assert f == Filters(("E06000019", "E10000034", "E06000019"), ("West Midlands",),
                        ("inspection",))  # order and repeats do not matter
    assert Filters().describe() == "everything"


@pytest.mark.parametrize(("args", "suggestion"), [
    ((["Worcestershir"], [], []), "Worcestershire"),
    (([], ["West Midland"], []), "West Midlands"),
    (([], [], ["inspecton"]), "inspection"),
])
def test_unknown_names_suggest_the_nearest(args, suggestion):
    with pytest.raises(SubscriberError) as info:
        resolve_filters(*args, TOPICS)
    assert suggestion in info.value.hint


def test_abolished_authorities_are_not_offered_by_name():
    with pytest.raises(SubscriberError):
        resolve_filters(["Northamptonshire"], [], [], TOPICS)


def test_csv_round_trip_and_all_problems_at_once():
    specs = [SubscriberSpec("a@example.org", "A", "active", "text",
                            Filters(("E10000034",), ("South East",), ("fostering", "send")))]
    assert parse_csv(to_csv(specs), TOPICS) == specs
    bad = ("email,name,status,format,topics\nok@example.org,Ok,active,html,\nbad,B,,,\n"
           "ok@example.org,Again,,,\nx@example.org,X,gone,,\ny@example.org,Y,,pdf,\n"
           "z@example.org,Z,,,knitting\n")
    with pytest.raises(SubscriberError) as info:
        parse_csv(bad, TOPICS)
    message = info.value.message
    assert "5 bad row(s), nothing imported" in message
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in message
    with pytest.raises(SubscriberError, match="no 'email' column"):
        parse_csv("name\nJo\n", TOPICS)
    with pytest.raises(SubscriberError, match="unknown CSV columns"):
        parse_csv("email,colour\na@example.org,red\n", TOPICS)


def test_subscribers_are_stored_updated_and_unsubscribed(store):
    spec = SubscriberSpec("jo@example.org", "Jo", filters=Filters(topics=("inspection",)))
    assert store.save_subscriber(spec) == "added"
    [(saved, token)] = store.subscribers()
    assert saved == spec and len(token) >= 32
    assert store.save_subscriber(SubscriberSpec("jo@example.org", "Joanna")) == "updated"
    [(updated, same_token)] = store.subscribers("active")
    assert updated.name == "Joanna" and updated.filters == Filters() and same_token == token
    assert store.set_subscriber_status("jo@example.org", "unsubscribed")
    assert store.subscribers("active") == [] and not store.set_subscriber_status("x@y.org", "x")


def test_a_non_ascii_local_part_is_refused_and_a_non_ascii_domain_kept_routable():
    from sectorwatch.digest.subscribers import UnmailableAddress

    with pytest.raises(UnmailableAddress) as info:
        check_email("jörg@exämple.de")
    assert "before the @" in info.value.message and "ASCII" in info.value.hint
    assert check_email("jo@Exämple.de") == "jo@xn--exmple-cua.de"


def test_only_the_owner_brings_back_an_address_that_left(store):
    assert store.save_subscriber(SubscriberSpec("sam@example.org")) == "added"
    assert store.set_subscriber_status("sam@example.org", "unsubscribed", via="link")
    back = SubscriberSpec("sam@example.org", filters=Filters(topics=("adoption",)))
    assert store.save_subscriber(back, via="import") == "refused"
    assert store.subscriber_state("sam@example.org").status == "unsubscribed"
    # still refused as 'pending'; an unsubscribed row may be updated as unsubscribed
    assert store.save_subscriber(SubscriberSpec("sam@example.org", status="pending")) == \
        "refused"
    assert store.save_subscriber(SubscriberSpec("sam@example.org", "Sam",
                                                status="unsubscribed")) == "updated"
    assert store.save_subscriber(back, via="cli", resubscribe=True) == "updated"
    history = [(r.event, r.via) for r in store.subscriber_history("sam@example.org")]
    assert history == [("active", "cli"), ("unsubscribed", "link"), ("active", "cli")]
    assert "--resubscribe" in store.subscriber_history("sam@example.org")[-1].detail
    # the web's double opt-in is the owner's own way back
    store.set_subscriber_status("sam@example.org", "unsubscribed", via="link")
    state, key = store.request_subscription(back)
    assert state == "returning" and store.set_status_by_key(key, "active",
                                                            only_from="pending")
    assert store.subscriber_state("sam@example.org").via == "web"
