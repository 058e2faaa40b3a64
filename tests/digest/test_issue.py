"""An issue's name and slot (from the schedule), and the dry run of who would get what."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sectorwatch.config import ScheduleSettings, parse_config
from sectorwatch.digest.delivery import send_issue
from sectorwatch.digest.issue import dry_run, issue_key, issue_send_at
from sectorwatch.digest.select import LONDON
from sectorwatch.digest.transport import OutboxTransport
from sectorwatch.models import Filters
from sectorwatch.tokens import ephemeral_signer

from .test_delivery import ENTRIES, SEND, WORCS, subscribe

PARIS = ZoneInfo("Europe/Paris")


def test_the_default_slot_is_monday_eight_in_london():
    assert issue_send_at("2026-W48") == SEND
    assert issue_send_at("2027-W13") == datetime(2027, 3, 29, 8, tzinfo=LONDON)  # BST


def test_the_slot_and_the_week_follow_the_schedule():
    friday = ScheduleSettings(timezone="Europe/Paris",
                              digest={"day_of_week": "fri", "hour": 17, "minute": 30})
    slot = issue_send_at("2026-W48", friday)
    assert slot == datetime(2026, 11, 27, 17, 30, tzinfo=PARIS)
    assert issue_key(slot, PARIS) == "2026-W48"
    # 00:30 on a Monday in Paris is still Sunday in London: the zone names the week
    late = datetime(2026, 11, 30, 0, 30, tzinfo=PARIS)
    assert (issue_key(late, PARIS), issue_key(late)) == ("2026-W49", "2026-W48")


@pytest.mark.parametrize("week", ["2026-48", "2026-W99", "W48"])
def test_a_week_that_is_not_one_is_refused(week):
    with pytest.raises(ValueError, match="ISO week"):
        issue_send_at(week)


def test_a_schedule_without_a_slot_that_week_is_refused():
    monthly = ScheduleSettings(digest={"day": 1, "hour": 8})
    with pytest.raises(ValueError, match="no slot in 2026-W48"):
        issue_send_at("2026-W48", monthly)
    assert issue_send_at("2026-W49", monthly).day == 1  # 1 December is in W49


def test_the_dry_run_selects_as_the_sender_does(store, db_url, tmp_path):
    config = parse_config(f'database_url: "{db_url}"\nsources: []\n', "test.yaml")
    subscribe(store, ("worcs@example.org", Filters((WORCS,))),
              ("all@example.org", Filters()), ("none@example.org", Filters(("E06000001",))))
    signer = ephemeral_signer()
    planned = dry_run(config, store, SEND, signer)
    assert (planned.issue, planned.stories, planned.already_sent) == ("2026-W48", 0, 0)
    report = send_issue(config, store, OutboxTransport(tmp_path), SEND, entries=ENTRIES,
                        signer=signer)
    planned = dry_run(config, store, SEND, signer)  # now frozen: the issue's own stories
    got = {r.email: (r.stories, r.sent) for r in planned.readers}
    assert got == {"worcs@example.org": (1, True), "all@example.org": (2, True),
                   "none@example.org": (0, False)}
    assert (planned.stories, planned.already_sent) == (2, report.sent) == (2, 2)
