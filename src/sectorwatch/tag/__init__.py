"""Tags for an article: authorities, topics, Ofsted judgements. Pure functions over text."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sectorwatch.tag.authorities import AuthorityTag, gazetteer, round_up, tag_authorities
from sectorwatch.tag.judgements import Judgement, tag_judgements
from sectorwatch.tag.topics import (
    TopicMatcher,
    TopicTag,
    compile_topics,
    packaged_model,
    tag_topics,
)


@dataclass(frozen=True)
class Tags:
    authorities: tuple[AuthorityTag, ...] = ()
    topics: tuple[TopicTag, ...] = ()
    judgements: tuple[Judgement, ...] = ()

    def as_dict(self, explain: bool = False) -> dict:
        """JSON-ready; ``explain`` keeps the phrases and positions behind each tag."""
        def clean(item) -> dict:
            data = asdict(item)
            if not explain:
                data.pop("evidence", None)
            return data

        return {"authorities": [clean(a) for a in self.authorities],
                "topics": [clean(t) for t in self.topics],
                "judgements": [clean(j) for j in self.judgements]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[Mapping[str, Any]]]) -> Tags:
        """Tags from ``as_dict``'s form (as the store keeps them): a field a row lacks
        takes its default, so rows stored by an older version still read."""
        return cls(tuple(_typed(AuthorityTag, d) for d in data.get("authorities", ())),
                   tuple(_typed(TopicTag, d) for d in data.get("topics", ())),
                   tuple(_typed(Judgement, d) for d in data.get("judgements", ())))


def _typed(kind, data: Mapping[str, Any]):
    names = {f.name for f in dataclasses.fields(kind)}
    values = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v)
              if isinstance(v, list) else v for k, v in data.items() if k in names}
    return kind(**values)


_DAY = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_day(day: date | str | None) -> str | None:
    """A publication date as 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY' (as precise as it is known).

    Raises ValueError for anything else.
    """
    if day is None or day == "":
        return None
    if isinstance(day, date):
        return day.isoformat()[:10]
    m = _DAY.fullmatch(day.strip())
    if not m:
        raise ValueError(f"not a date: {day!r} (use YYYY-MM-DD, YYYY-MM or YYYY)")
    date(int(m[1]), int(m[2] or 1), int(m[3] or 1))  # a real day, month and year
    return m.group()


def midpoint(day: str | None) -> str | None:
    """A full date for a partial one, to decide which councils existed: the middle of the
    month or of the year."""
    if day is None or len(day) == 10:
        return day
    return f"{day}-15" if len(day) == 7 else f"{day}-07-01"


class Tagger:
    """Compiled once from the config (taxonomy and threshold); then tags any text."""

    def __init__(self, topics: TopicMatcher):
        self.topics = topics
        gazetteer()  # load the gazetteer now, not inside the first article

    @classmethod
    def from_config(cls, config) -> Tagger:
        return cls(compile_topics(config.topics, config.tagging.topic_threshold,
                                  config.tagging.topic_min_share,
                                  packaged_model() if config.tagging.topic_model else None))

    def tag(self, title: str, text: str, day: date | str | None = None) -> Tags:
        """``day`` is the publication date: a date, or 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'."""
        day = parse_day(day)
        authorities = tag_authorities(title, text, midpoint(day))
        judgements = tag_judgements(title, text, authorities, day)
        many = round_up([a.in_title for a in authorities])
        news = [j for j in judgements  # a round-up's visits: not its subject
                if j.authority and not j.past and (j.grade or not many)]
        lead = min((j.evidence[1] for j in news), default=None)  # the story's first grade
        subjects = {j.authority for j in news if j.evidence[1] == lead}
        if 0 < len(subjects) <= 3 and not any(a.role == "primary" for a in authorities):
            # nobody stands out by name: an authority whose grade it reports is its subject
            # (not when it lists the grades of many: that is a round-up)
            authorities = [a if a.code not in subjects or a.role == "primary" else
                           AuthorityTag(**{**asdict(a), "role": "primary",
                                           "evidence": a.evidence})
                           for a in authorities]
        return Tags(tuple(authorities), tuple(tag_topics(title, text, self.topics)),
                    tuple(judgements))


__all__ = ["Tagger", "Tags"]
