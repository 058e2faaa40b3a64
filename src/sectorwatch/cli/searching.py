"""`articles --search`: ranked hits with their snippets, as a table or as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import click
from rich.table import Table
from rich.text import Text

from sectorwatch import gazetteer
from sectorwatch.cli.root import console, errors
from sectorwatch.store import Store
from sectorwatch.store.highlight import segments, to_html, to_text
from sectorwatch.store.query import Query
from sectorwatch.store.records import SearchHit, SearchResults


def print_search(store: Store, query: Query, *, codes: Sequence[str], topics: Sequence[str],
                 since: datetime | None, source_id: str | None, limit: int, fmt: str) -> None:
    """Run the search and print its hits, best first."""
    results = store.search(query, authorities=codes, topics=topics, since=since,
                           source_id=source_id, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([hit_json(h) for h in results.hits], indent=2,
                              ensure_ascii=False))
        return
    table = Table()
    table.add_column("id", justify="right", no_wrap=True)  # for `articles show ID`
    table.add_column("published", no_wrap=True)
    for name in ("source", "title and snippet", "about"):
        table.add_column(name, overflow="fold")
    for h in results.hits:
        # Text, not markup: nothing scraped is read as rich's [style] tags
        cell = Text(h.title, style="bold")
        cell.append("\n")
        for piece, matched in segments(h.snippet):
            cell.append(piece, style="reverse" if matched else "dim")
        table.add_row(str(h.id), f"{h.published_at:%Y-%m-%d}" if h.published_at else "?",
                      Text(h.source_id),
                      cell, Text(", ".join(gazetteer.name(c) for c in h.authorities)))
    console.print(table)
    errors.print(_counted(results))


def _counted(results: SearchResults) -> str:
    if not results.hits:
        return "no article matches"
    shown = f"{results.offset + 1}–{results.offset + len(results.hits)}"
    if results.more:
        return f"{shown} of the best among the newest {results.total:,} matches (more match)"
    return f"{shown} of {results.total:,} match{'es' * (results.total != 1)}"


def hit_json(h: SearchHit) -> dict:
    """A hit as `articles --search --format json` prints it."""
    return {
        "id": h.id, "url": h.url, "source": h.source_id, "title": h.title,
        "published": h.published_at.isoformat() if h.published_at else None,
        "first_seen": h.first_seen_at.isoformat(), "rank": round(h.rank, 6),
        "snippet": to_text(h.snippet), "snippet_html": to_html(h.snippet),
        "authorities": [{"code": c, "name": gazetteer.name(c)} for c in h.authorities],
    }
