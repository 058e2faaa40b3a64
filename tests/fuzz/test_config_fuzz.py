"""Config YAML of any shape, types, size, aliases: a Config or a ConfigError naming the
problem, never another exception."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from sectorwatch.config import ConfigError, parse_config

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=40), st.sampled_from(["5m", "1d", "99999999999d", ".inf",
                                                           "5MB", "999999GB", "-1", "feed"]))
KEYS = st.sampled_from(["fetch", "sources", "digest", "web", "scheduler", "tagging", "id",
                        "type", "url", "interval", "max_bytes", "total_timeout", "topics",
                        "database_url", "user_agent", "x"]) | st.text(max_size=12)
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                     | st.dictionaries(KEYS, inner, max_size=5), max_leaves=30)


def check(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems and all(p.message for p in exc.problems)


@given(st.dictionaries(KEYS, TREES, max_size=6))
def test_any_structure(tree):
    check(yaml.safe_dump(tree, allow_unicode=True))


@given(st.text(max_size=300))
def test_any_text(text):
    check(text)


@given(st.integers(1, 12), st.integers(1, 12))
def test_aliases_of_aliases_and_depth(levels, width):
    rows = ["a0: &a0 [x, x]"]
    for n in range(1, levels):
        rows.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]")
    rows.append(f"sources: *a{levels - 1}")
    check("\n".join(rows) + "\n")
    check("sources: " + "[" * (levels * width * 10) + "]" * (levels * width * 10) + "\n")
