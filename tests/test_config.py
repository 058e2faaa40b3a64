from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from sectorwatch.config import (
    Config,
    ConfigError,
    TopicSettings,
    default_config_text,
    load_config,
    parse_config,
    topic_changes,
)
from sectorwatch.sources import REGISTRY
from sectorwatch.sources.base import ExtractRules

ROOT = Path(__file__).resolve().parents[1]


def problems(text: str) -> list:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.yaml")
    return list(info.value.problems)


def test_shipped_config_is_valid_and_lists_the_real_sector_sources():
    config = load_config(None)
    urls = {s.url for s in config.sources}
    assert "https://www.communitycare.co.uk/category/children-young-people/feed/" in urls
    assert "https://www.gov.uk/search/news-and-communications.atom?organisations%5B%5D=ofsted" \
        in urls
    assert "https://www.worcesternews.co.uk/news/rss/" in urls
    assert config.source("worcester-news").relevance_filter is True
    assert {s.type for s in config.sources} >= {"feed", "html_listing", "govuk"}
    assert config.source("govuk-dfe-news").type == "govuk"


def test_packaged_config_is_the_top_level_one():
    assert default_config_text() == (ROOT / "config.yaml").read_text(encoding="utf-8")


def models_in(model: type[BaseModel]) -> set[type[BaseModel]]:
    """``model`` and every settings model reachable through its fields' types (nested
    settings, tuples and dicts of them, the union of source types)."""
    found: set[type[BaseModel]] = set()

    def walk(annotation) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
                and annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                walk(field.annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(model)
    return found


def test_every_setting_is_documented_in_the_shipped_config():
    text = default_config_text()
    models = models_in(Config)
    assert {ExtractRules, TopicSettings, *(t.settings for t in REGISTRY.values())} <= models
    missing = {f"{m.__name__}.{name}" for m in models for name in m.model_fields
               if not re.search(rf"^\s*#?\s*-?\s*{name}:", text, re.MULTILINE)}
    assert not missing, f"settings missing from config.yaml: {sorted(missing)}"


def test_config_is_frozen():
    config = load_config(None)
    with pytest.raises(ValidationError):
        config.fetch.concurrency = 99
    assert isinstance(config.sources, tuple)


def test_three_mistakes_are_all_reported_with_yaml_paths_and_lines():
    found = problems("""\
fetch:
  concurency: 4
sources:
  - id: one
    type: feed
    url: "https://example.org/feed"
  - id: two
    type: feed
    url: "ftp://example.org/feed"
  - id: three
    type: feed
    url: "https://example.org/x"
    interval: soon
""")
    assert [(p.path, p.line) for p in found] == [
        ("fetch.concurency", 2), ("sources[1].url", 9), ("sources[2].interval", 13)]
    assert "did you mean 'concurrency'" in found[0].hint
    assert all(str(p).startswith("bad.yaml:") for p in found)


def test_unknown_type_lists_known_types():
    [p] = problems("sources:\n  - {id: a, type: rss, url: 'https://e.org/'}\n")
    assert p.path == "sources[0].type"
    assert "unknown source type 'rss'" in p.message
    assert "feed" in p.hint and "html_listing" in p.hint


def test_duplicate_ids_and_missing_type_and_bad_types():
    found = problems("""\
sources:
  - {id: a, type: feed, url: 'https://e.org/1'}
  - {id: a, type: feed, url: 'https://e.org/2', enabled: maybe}
  - {id: b, url: 'https://e.org/3'}
  - {id: c, type: html_listing, url: 'https://e.org/4', link_selector: 'a[[[', max_pages: 0}
""")
    paths = {p.path: p for p in found}
    assert "duplicate source id 'a'" in paths["sources[1].id"].message
    assert "sources[1].enabled" in paths
    assert paths["sources[2].type"].message == "missing source type"
    assert "CSS selector" in paths["sources[3].link_selector"].message
    assert "sources[3].max_pages" in paths


def test_yaml_syntax_error_names_the_line():
    [p] = problems("sources:\n  - id: a\n   type: feed\n")
    assert p.line is not None and "not valid YAML" in p.message


def test_key_given_twice_is_an_error():
    [p] = problems("database_url: 'sqlite:///a.db'\ndatabase_url: 'sqlite:///b.db'\n")
    assert p.message == "key given twice" and p.line == 2


def test_user_agent_needs_a_contact():
    [p] = problems("fetch:\n  user_agent: 'MyBot'\n")
    assert p.path == "fetch.user_agent" and "contact" in p.message


def test_robots_cache_may_not_exceed_a_day():
    [p] = problems("fetch:\n  robots_cache: 2d\n")
    assert p.path == "fetch.robots_cache"


def test_durations_and_sizes_accept_units():
    config = parse_config("fetch:\n  max_bytes: 2MB\n  per_host_delay: 1.5s\n"
                          "  default_interval: 2h\n", "ok.yaml")
    assert config.fetch.max_bytes == 2_000_000
    assert config.fetch.per_host_delay == 1.5
    assert config.fetch.default_interval == 7200


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.yaml")
    assert "cannot read" in str(info.value)


def test_top_level_must_be_a_mapping():
    [p] = problems("- just\n- a list\n")
    assert "mapping" in p.message


def test_the_shipped_taxonomy_is_used_when_a_config_has_no_topics(tmp_path):
    shipped = load_config(None).topics
    assert [t.slug for t in shipped][:3] == ["inspection", "intervention", "children-in-care"]
    mine = tmp_path / "c.yaml"
    mine.write_text("sources: []\n")
    assert load_config(mine).topics == shipped
    mine.write_text("topics:\n  - {slug: ofsted, label: Ofsted, phrases: {ofsted: 3}}\n"
                    "replace_topics: true\n")
    assert [t.slug for t in load_config(mine).topics] == ["ofsted"]


def test_a_config_adds_changes_and_removes_single_topics(tmp_path):
    shipped = {t.slug: t for t in load_config(None).topics}
    mine = tmp_path / "c.yaml"
    mine.write_text("""topics:
  - slug: kent-fostering
    label: Kent fostering
    phrases: {fostering allowance: 3, foster carers: 2}
  - {slug: inspection, label: Inspections}
  - {slug: exploitation, remove: true}
""")
    config = load_config(mine)
    topics = {t.slug: t for t in config.topics}
    assert list(topics)[-1] == "kent-fostering" and "exploitation" not in topics
    assert len(topics) == len(shipped)  # one added, one removed
    assert topics["inspection"].label == "Inspections"
    assert topics["inspection"].phrases == shipped["inspection"].phrases  # only the label
    assert topics["care-leavers"] == shipped["care-leavers"]
    assert topic_changes(config) == {"added": ["kent-fostering"], "changed": ["inspection"],
                                     "removed": ["exploitation"]}


def test_topic_changes_that_cannot_apply_are_named_with_their_line():
    found = problems("""topics:
  - {slug: fostring, label: Fostering}
  - {slug: nothing-here, remove: true}
  - {slug: inspection, phrase: {ofsted: 3}}
  - {slug: care-leavers, label: A}
  - {slug: care-leavers, label: B}
""")
    by_path = {p.path: p for p in found}
    assert by_path["topics[0]"].line == 2 and "needs a label and phrases" in \
        by_path["topics[0]"].message and "'fostering'" in by_path["topics[0]"].hint
    assert "no shipped topic 'nothing-here'" in by_path["topics[1].remove"].message
    assert by_path["topics[2].phrase"].hint == "did you mean 'phrases'?"
    assert by_path["topics[4].slug"].line == 6 and "twice" in by_path["topics[4].slug"].message


def test_topic_phrases_need_numeric_weights():
    [p] = problems("topics:\n  - {slug: x, label: X, phrases: {ofsted: lots}}\n")
    assert p.path == "topics[0].phrases.ofsted"


def test_section_order_must_name_real_sections():
    with pytest.raises(ConfigError) as info:
        parse_config("digest:\n  section_order: [inspection, fostring]\n", "c.yaml")
    [problem] = info.value.problems
    assert problem.path == "digest.section_order[1]" and problem.line == 2
    assert "'fostering'" in problem.hint
    with pytest.raises(ConfigError) as info:
        parse_config("digest:\n  sections: region\n  section_order: [West Midland]\n", "c.yaml")
    assert "'West Midlands'" in info.value.problems[0].hint
    config = parse_config("digest:\n  sections: region\n  section_order: [London, national]\n",
                          "c.yaml")
    assert config.digest.section_order == ("London", "national")


def test_durations_and_sizes_have_a_ceiling_and_infinity_is_refused():
    found = problems("fetch:\n  total_timeout: .inf\n  max_bytes: 999999999999GB\n"
                     "  backoff: .nan\nsources:\n  - {id: a, type: feed, url: "
                     "'https://example.org/f', interval: 99999999999999999999999d}\n")
    assert sorted((str(p.path), p.message) for p in found) == [
        ("fetch.backoff", "expected a duration such as 30s, 5m, 6h or 1d"),
        ("fetch.max_bytes", "at most 1GB"),
        ("fetch.total_timeout", "at most 366d"),
        ("sources[0].interval", "at most 366d")]


def test_an_alias_bomb_and_deep_nesting_are_refused_at_once():
    rows = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    [bomb] = problems("\n".join([*rows, "sources: *i"]) + "\n")
    assert "expands to more than 100,000 values" in bomb.message and bomb.line
    [deep] = problems("sources: " + "[" * 5000 + "]" * 5000 + "\n")
    assert deep.message.startswith("nested too deep") and deep.line == 1
    indented = "sources:\n" + "".join("  " * i + "-\n" for i in range(3000))
    [block] = problems(indented)
    assert "nested too deep" in block.message or "levels" in block.message


@pytest.mark.parametrize(("text", "message"), [
    ("sources: !foo x\n", "could not determine a constructor for the tag '!foo'"),
    ("sources: !!timestamp 2020-99-99\n", "month must be in 1..12"),
    ("? [a, b]\n: c\n", "a key must be a plain word"),
])
def test_tags_impossible_values_and_odd_keys_are_problems_not_tracebacks(text, message):
    [p] = problems(text)
    assert message in p.message and p.line == 1
