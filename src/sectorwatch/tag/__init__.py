"""Tags for an article: authorities, topics, Ofsted judgements. Pure functions over text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sectorwatch.tag.authorities import AuthorityTag, gazetteer, tag_authorities
from sectorwatch.tag.judgements import Judgement, tag_judgements
from sectorwatch.tag.topics import TopicMatcher, TopicTag, compile_topics, tag_topics


@dataclass(frozen=True)
class Tags:
    authorities: tuple[AuthorityTag, ...]
    topics: tuple[TopicTag, ...]
    judgements: tuple[Judgement, ...]

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


class Tagger:
    """Compiled once from the config (taxonomy and threshold); then tags any text."""

    def __init__(self, topics: TopicMatcher):
        self.topics = topics
        gazetteer()  # load the gazetteer now, not inside the first article

    @classmethod
    def from_config(cls, config) -> Tagger:
        return cls(compile_topics(config.topics, config.tagging.topic_threshold,
                                  config.tagging.topic_min_share))

    def tag(self, title: str, text: str, day: date | str | None = None) -> Tags:
        authorities = tag_authorities(title, text, day)
        judgements = tag_judgements(title, text, authorities, day)
        subjects = {j.authority for j in judgements if j.authority}
        if subjects:  # an authority whose inspection the article reports is its subject
            authorities = [a if a.code not in subjects or a.role == "primary" else
                           AuthorityTag(**{**asdict(a), "role": "primary",
                                           "evidence": a.evidence})
                           for a in authorities]
        return Tags(tuple(authorities), tuple(tag_topics(title, text, self.topics)),
                    tuple(judgements))


__all__ = ["Tagger", "Tags"]
