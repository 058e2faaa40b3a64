"""A regex shaped like a trie: many literal phrases, matched in one pass of the C engine.

An alternation of hundreds of literals makes Python's engine try each branch at every
position; grouping them by shared prefix ("care (?:leavers?|proceedings|…)") makes the
work at a position proportional to the phrase length instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_END = ""


def trie_pattern(phrases: Iterable[str]) -> str:
    """Regex source matching any of ``phrases`` (longest alternative first at each step)."""
    root: dict = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _emit(root) or r"(?!x)x"


def _emit(node: dict) -> str:
    ends = _END in node
    branches = [re.escape(char) + _emit(child) for char, child in sorted(node.items())
                if char != _END]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:  # a phrase ends here, longer ones go on: try the longer first
        return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
    return body
