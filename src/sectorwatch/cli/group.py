"""`sectorwatch group`: story grouping on any articles given as JSON lines."""

from __future__ import annotations

import json

import click
from rich.markup import escape

from sectorwatch.cli.root import Context, cli, console


@cli.command("group")
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE.jsonl|-")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text",
              show_default=True)
@click.pass_obj
def group_cmd(obj: Context, source, fmt: str) -> None:
    """Group articles into stories, as the digest does, and say why each was joined.

    FILE.jsonl has one article per line: {"id", "title", "text"} and, optionally, "url",
    "source" and "published" (YYYY-MM-DD, an ISO time, YYYY-MM or YYYY). Each article is
    tagged as the pipeline tags it; an article without a date is held to no time window.
    """
    from sectorwatch.digest.records import RecordError, items_for, read_records
    from sectorwatch.digest.stories import group_stories
    from sectorwatch.tag import Tagger

    try:
        records = read_records(source)
    except RecordError as exc:
        raise click.ClickException(f"{source.name}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{source.name}: not UTF-8 text ({exc.reason} at byte "
                                   f"{exc.start})") from None
    items = items_for(records, Tagger.from_config(obj.config()))
    found = group_stories(items)
    ident = {k: r.id for k, r in enumerate(records)}
    if fmt == "json":
        click.echo(json.dumps({"articles": len(records), "stories": [{
            "lead": ident[s.lead.id], "title": s.lead.title,
            "members": [ident[i.id] for i in s.items],
            "joins": [{"a": ident[j.a], "b": ident[j.b], "words": j.words,
                       "shared_words": list(j.shared_words),
                       "shared_names": list(j.shared_names)} for j in s.joins],
        } for s in found]}, indent=2, ensure_ascii=False))
        return
    told = sum(1 for s in found if s.others)
    console.print(f"{len(records)} articles, {len(found)} stories "
                  f"({told} told by more than one)")
    for n, story in enumerate(found, 1):
        lead = story.lead
        date = lead.published.date().isoformat() if lead.dated else "undated"
        console.print(f"\n{n}. [bold]{escape(lead.title or '(no title)')}[/]  "
                      f"({len(story.items)}; {date})", soft_wrap=True)
        for item in story.items:
            mark = "lead" if item is lead else "    "
            console.print(f"   {mark}  {escape(ident[item.id])}  "
                          f"{escape(item.source_id or '-')}", soft_wrap=True)
        for join in story.joins:
            why = f"words {join.words:.2f}"
            if join.shared_names:
                why += f"; names: {', '.join(join.shared_names)}"
            if join.shared_words:
                why += f"; shared: {', '.join(join.shared_words[:5])}"
            console.print(f"   joined {escape(ident[join.a])} + {escape(ident[join.b])}: "
                          f"{escape(why)}", soft_wrap=True)
