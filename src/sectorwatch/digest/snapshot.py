"""An issue's stories as JSON, so the issue can be frozen at its first send: a rerun after a
crash sends what the first run sent, and the archive shows it later. Pure.

Article texts are left out (grouping is done by then); everything a digest shows is kept.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime

from sectorwatch.digest.select import Tagged
from sectorwatch.digest.stories import Item, Story

VERSION = 1


def dumps(entries: Sequence[Tagged]) -> str:
    return json.dumps({"version": VERSION, "stories": [_entry(e) for e in entries]},
                      ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> list[Tagged]:
    data = json.loads(text)
    if data.get("version") != VERSION:
        raise ValueError(f"unknown issue snapshot version {data.get('version')!r}")
    return [_tagged(e) for e in data["stories"]]


def _item(item: Item) -> dict:
    out = dataclasses.asdict(item)
    out.pop("text")
    out["published"] = item.published.isoformat()
    out["primary"] = sorted(item.primary)
    out["authorities"] = sorted(item.authorities)
    out["events"] = list(item.events)
    return out


def _entry(entry: Tagged) -> dict:
    return {"items": [_item(i) for i in entry.story.items], "score": entry.story.score,
            "authorities": sorted(entry.authorities), "primary": sorted(entry.primary),
            "regions": sorted(entry.regions), "topics": list(entry.topics),
            "judgements": list(entry.judgements)}


def _load_item(data: dict) -> Item:
    return Item(**{**data, "text": "", "published": datetime.fromisoformat(data["published"]),
                   "primary": frozenset(data["primary"]),
                   "authorities": frozenset(data.get("authorities", ())),
                   "events": tuple(data.get("events", ()))})


def _tagged(data: dict) -> Tagged:
    lead, *others = (_load_item(i) for i in data["items"])
    return Tagged(Story(lead, tuple(others), data["score"]), frozenset(data["authorities"]),
                  frozenset(data["primary"]), frozenset(data["regions"]),
                  tuple(data["topics"]), tuple(data["judgements"]))
