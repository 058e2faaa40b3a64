"""The local authorities with children's-services duties: the packaged gazetteer, typed.

Ground level: this module imports nothing of the project, and tagging, configuration, the
digest and the web pages all read authorities through it. Names become GSS codes in one
place (``codes_for``), with one error (``UnknownName``) that says what was not known and
suggests the nearest names.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Authority:
    """A council (or trust area) as the gazetteer knows it."""

    code: str
    """GSS code, e.g. E10000034."""
    name: str
    official_name: str
    region: str
    kind: str
    """unitary, county, metropolitan district, London borough…"""
    slug: str
    """Its name in a URL; an abolished one's ends with the year it ended (dorset-2019)."""
    nation: str = "England"
    start: str | None = None
    end: str | None = None
    """ISO dates it existed between (None: before records, or still)."""
    replaced_by: tuple[str, ...] = ()

    @property
    def current(self) -> bool:
        return self.end is None


class UnknownName(KeyError):
    """A name that is no authority or region: what was asked, and the nearest names."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})"


def slug(text: str) -> str:
    """A name as it appears in a URL: ASCII, lower case, words joined by hyphens."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@functools.cache
def raw() -> dict[str, Any]:
    """The packaged file as built by scripts/build_gazetteer.py (authorities, aliases,
    credits)."""
    return json.loads(resources.files("sectorwatch").joinpath("data", "gazetteer.json")
                      .read_text(encoding="utf-8"))


@functools.cache
def authorities() -> dict[str, Authority]:
    """Every authority by GSS code."""
    out = {}
    for code, info in raw()["authorities"].items():
        end = info.get("end")
        out[code] = Authority(
            code=code, name=info["name"], official_name=info.get("official_name") or info["name"],
            region=info["region"], kind=info.get("type") or "",
            slug=slug(info["name"]) + (f"-{end[:4]}" if end else ""),
            nation=info.get("nation") or "England", start=info.get("start"), end=end,
            replaced_by=tuple(info.get("replaced_by") or ()))
    return out


def name(code: str) -> str:
    """An authority's short name; an unknown code is returned as it is."""
    known = authorities().get(code)
    return known.name if known else code


def region_of(code: str) -> str | None:
    known = authorities().get(code)
    return known.region if known else None


@functools.cache
def region_names() -> tuple[str, ...]:
    """Every region, sorted."""
    return tuple(sorted({a.region for a in authorities().values() if a.region}))


def codes_for(names: Iterable[str] = (), regions: Iterable[str] = ()) -> list[str]:
    """GSS codes for authority names (current ones; any case) or codes, then for every
    authority in the named regions. Raises UnknownName for the first it does not know."""
    known = authorities()
    current = {a.name: code for code, a in known.items() if a.current}
    by_name = {n.casefold(): code for n, code in current.items()}
    codes: list[str] = []
    for text in names:
        text = text.strip()
        if text in known:
            codes.append(text)
        elif text.casefold() in by_name:
            codes.append(by_name[text.casefold()])
        else:
            raise UnknownName(f"unknown authority {text!r}", suggest(
                text, current, "an authority name (Worcestershire) or GSS code (E10000034)"))
    for region in regions:
        matched = resolve_region(region)
        codes += [code for code, a in known.items() if a.region == matched]
    return codes


def resolve_region(text: str) -> str:
    """A region's name as the gazetteer spells it, from any case. Raises UnknownName."""
    by_key = {r.casefold(): r for r in region_names()}
    found = by_key.get(text.strip().casefold())
    if found is None:
        raise UnknownName(f"unknown region {text!r}", suggest(text, region_names(), "a region"))
    return found


def suggest(value: str, known: Iterable[str], what: str) -> str:
    """'did you mean …?' with the nearest of ``known``, else 'use ``what``'."""
    choices: Sequence[str] = list(known)
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6) or \
        difflib.get_close_matches(value.title(), choices, n=3, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else f"use {what}"
