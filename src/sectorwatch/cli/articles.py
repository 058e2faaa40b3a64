"""articles, extract, reextract, tag, retag: what is stored and how it was read."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from sectorwatch import gazetteer
from sectorwatch.cli.root import EXIT_FAILED, EXIT_OK, Context, cli, console, errors, when
from sectorwatch.cli.searching import print_search
from sectorwatch.errors import SectorwatchError
from sectorwatch.sources.base import ExtractRules
from sectorwatch.store.query import parse as parse_query
from sectorwatch.store.records import StoredArticle
from sectorwatch.tag import Tags


@cli.group(invoke_without_command=True)
@click.option("--since", metavar="WHEN", help="A date (2026-11-01) or an age (7d, 12h).")
@click.option("--source", "source_id", metavar="ID", help="Only this source.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--authority", "authorities", multiple=True, metavar="NAME|CODE",
              help="Only articles tagged with this authority (repeatable).")
@click.option("--region", "regions", multiple=True, metavar="REGION",
              help="Only articles tagged with an authority in this region (repeatable).")
@click.option("--topic", "topics", multiple=True, metavar="SLUG",
              help="Only articles with this topic (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--search", "search", metavar="QUERY",
              help='Only articles matching QUERY, best first: words, "a phrase", OR, '
                   "-excluded, prefix*.")
@click.pass_context
def articles(ctx: click.Context, since: str | None, source_id: str | None, limit: int,
             authorities: tuple[str, ...], regions: tuple[str, ...], topics: tuple[str, ...],
             fmt: str, search: str | None) -> None:
    """List stored articles, newest first (with --search, best match first; `articles
    show ID`: one of them in full)."""
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    config = obj.config()
    since_at = parse_since(since) if since else None
    query = parse_query(search) if search is not None else None  # before opening the store
    unknown_topics = set(topics) - {t.slug for t in config.topics}
    if unknown_topics:
        raise click.BadParameter(f"unknown topic {', '.join(sorted(unknown_topics))}; known: "
                                 f"{', '.join(t.slug for t in config.topics)}",
                                 param_hint="--topic")
    try:
        codes = gazetteer.codes_for(authorities, regions)
    except gazetteer.UnknownName as exc:
        raise click.BadParameter(str(exc), param_hint="--authority/--region") from None
    with obj.store(config) as store:
        if query is not None:
            print_search(store, query, codes=codes, topics=topics, since=since_at,
                         source_id=source_id, limit=limit, fmt=fmt)
            return
        rows = store.articles(since=since_at, source_id=source_id, limit=limit,
                              authorities=codes, topics=topics, with_tags=True)
    if fmt == "json":
        click.echo(json.dumps([_article_json(r) for r in rows], indent=2, ensure_ascii=False))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("published", no_wrap=True)
    table.add_column("source", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("title", ratio=3, overflow="fold")
    table.add_column("about · topics", ratio=2, min_width=17, overflow="fold")
    for r in rows:
        tags = r.tags or Tags()
        about = ", ".join(a.name for a in tags.authorities if a.role == "primary")
        table.add_row(str(r.id), f"{r.published_at:%Y-%m-%d}" if r.published_at else "?",
                      escape(r.source_id),
                      escape(r.title) + (" [dim](truncated)[/]" if r.truncated else ""),
                      " · ".join(part for part in (escape(about), ", ".join(
                          t.slug for t in tags.topics)) if part))
    console.print(table)


@articles.command("show")
@click.argument("article_id", type=int, metavar="ID")
@click.option("--explain", is_flag=True,
              help="Tag the stored text again by the current config and show the evidence "
                   "behind each tag.")
@click.option("--raw", "raw_out", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the raw page as it was fetched to FILE.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_obj
def show(obj: Context, article_id: int, explain: bool, raw_out: Path | None, fmt: str) -> None:
    """One stored article in full: what was read from the page, its tags (and with
    --explain the evidence for each), and the raw page it came from."""
    config = obj.config()
    with obj.store(config) as store:
        found = store.article(article_id)
        if found is None:
            raise SectorwatchError(f"no article {article_id} is stored",
                                   hint="`sectorwatch articles` lists them with their ids")
        raw = store.raw_page(article_id)
    if raw_out is not None:
        try:
            raw_out.write_bytes(raw)
        except OSError as exc:
            raise click.ClickException(f"cannot write {raw_out}: {exc.strerror or exc}"
                                       ) from None
    explained = None
    if explain:
        from sectorwatch.tag import Tagger

        explained = Tagger.from_config(config).tag(found.title, found.text,
                                                   found.when.date())
    if fmt == "json":
        out = _article_json(found)
        out["raw_page"] = {"url": found.raw_url, "content_type": found.raw_content_type,
                           "bytes": len(raw)}
        if explained is not None:
            out["explain"] = explained.as_dict(True)
            out["explain"]["same_as_stored"] = \
                explained.as_dict() == (found.tags or Tags()).as_dict()
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    console.print(_article_text(found, len(raw), explained), soft_wrap=True, markup=False,
                  highlight=False)
    if raw_out is not None:
        errors.print(f"raw page written to {escape(str(raw_out))}; try: sectorwatch extract "
                     f"{escape(str(raw_out))} --url {escape(found.raw_url or found.url)}",
                     soft_wrap=True, highlight=False)


def _article_text(r: StoredArticle, raw_bytes: int, explained: Tags | None) -> str:
    """`articles show` as text: the facts, the tags (or the evidence), then the text."""
    lines = [f"#{r.id}  {r.title}", f"url         {r.url}", f"source      {r.source_id}",
             f"published   {when(r.published_at) if r.published_at else 'unknown'} (from "
             f"{r.published_signal})   first seen {when(r.first_seen_at)}",
             f"words       {r.word_count}" + ("   truncated (a wall cut it short)"
                                              if r.truncated else "")
             + (f"   by {r.author}" if r.author else ""),
             f"raw page    {r.raw_url or r.url}  {r.raw_content_type or '?'}, "
             f"{raw_bytes:,} bytes"]
    tags = r.tags or Tags()
    for a in tags.authorities:
        lines.append(f"authority   {a.code}  {a.name} ({a.role}, {a.mentions}×"
                     f"{', in title' if a.in_title else ''})")
    for t in tags.topics:
        lines.append(f"topic       {t.slug} ({t.score:g})")
    for j in tags.judgements:
        lines.append(f"judgement   {j.authority or '-'}  {j.grade or '-'}  {j.scope}  {j.kind}"
                     f"  {j.date or ''}{'  past' if j.past else ''}".rstrip())
    if explained is not None:
        lines += ["", "evidence, tagging the stored text again by the current config"
                  + ("" if explained.as_dict() == tags.as_dict() else
                     " (it differs from the stored tags: `sectorwatch retag` updates them)")
                  + ":"]
        whole = f"{r.title}\n\n{r.text}"
        for item in explained.as_dict(True)["authorities"]:
            lines.append(f"  authority {item['code']} {item['name']} ({item['role']}):")
            lines += [f"    {_around(whole, pos, phrase)}" for phrase, pos in item["evidence"]]
        for item in explained.as_dict(True)["topics"]:
            phrases = Counter(phrase.lower() for phrase, _ in item["evidence"])
            lines.append(f"  topic {item['slug']} ({item['score']:g}): " + ", ".join(
                f"{phrase}" + (f" ×{n}" if n > 1 else "") for phrase, n in phrases.items()))
        for item in explained.as_dict(True)["judgements"]:
            phrase, pos = item["evidence"]
            lines.append(f"  judgement {item['authority'] or '-'} {item['grade'] or '-'} "
                         f"{item['scope']}: {_around(whole, pos, phrase)}")
    lines += ["", r.text]
    return "\n".join(lines)


def _around(text: str, pos: int, phrase: str, width: int = 40) -> str:
    """A phrase in the words around it, on one line: '…rated [inadequate] by Ofsted…'."""
    start, end = max(0, pos - width), min(len(text), pos + len(phrase) + width)
    before = " ".join(text[start:pos].split())
    after = " ".join(text[pos + len(phrase):end].split())
    gap = "" if after[:1] in ",.;:!?'\")’”" else " "
    return (f"{'…' if start else ''}{before}{' ' if before else ''}"
            f"[{text[pos:pos + len(phrase)]}]{gap}{after}{'…' if end < len(text) else ''}")


MAX_TAG_INPUT = 5_000_000
"""Bytes of input `tag` reads: a giant file is cut, as a giant page is."""


def parse_since(value: str) -> datetime:
    """'2026-11-01' or an age like '7d' / '12h' → an aware datetime."""
    if m := re.fullmatch(r"(\d+)([dhw])", value.strip()):
        unit = {"h": "hours", "d": "days", "w": "weeks"}[m[2]]
        try:
            return datetime.now(UTC) - timedelta(**{unit: int(m[1])})
        except (OverflowError, ValueError):
            raise click.BadParameter(f"{value} reaches back before the year 1",
                                     param_hint="--since") from None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a date like 2026-11-01 or an age like 7d",
                                 param_hint="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _article_json(r: StoredArticle) -> dict:
    """An article as `articles --format json` prints it; its tags under the keys the
    store files them by (authority, topic, judgement)."""
    tags = (r.tags or Tags()).as_dict()
    return {
        "id": r.id, "url": r.url, "source": r.source_id, "title": r.title,
        "published": r.published_at.isoformat() if r.published_at else None,
        "published_signal": r.published_signal,
        "first_seen": r.first_seen_at.isoformat(), "author": r.author,
        "word_count": r.word_count, "truncated": r.truncated, "lead": r.lead,
        "standfirst": r.standfirst, "text": r.text,
        "tags": {"authority": tags["authorities"], "topic": tags["topics"],
                 "judgement": tags["judgements"]},
    }


@cli.command("extract")
@click.argument("target", metavar="PATH_OR_URL")
@click.option("--url", metavar="URL", help="The page's address, when TARGET is a saved file.")
@click.option("--source", "source_id", metavar="ID",
              help="Use this source's extraction rules (and its learned template, if stored).")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json",
              show_default=True)
@click.pass_obj
def extract_cmd(obj: Context, target: str, url: str | None, source_id: str | None,
                fmt: str) -> None:
    """Extract one page (a saved file or a URL) and print the article.

    How to check a new source before adding it: the body is in "text", without the
    headline; "truncated" says a wall cut it short.
    """
    from sectorwatch.cli.target import load_target, template_for
    from sectorwatch.extract import extract_article

    config = obj.config()
    try:
        source = config.source(source_id) if source_id else None
    except KeyError:
        raise SectorwatchError(f"no such source: {source_id}",
                               hint="`sectorwatch sources` lists them") from None
    page, link = load_target(target, url, config, source)
    template = None
    if source is not None:  # what fetching would do with this page, template and all
        template, note = template_for(config, source, page,
                                      fetch_more=target.startswith(("http://", "https://")))
        errors.print(f"[dim]{escape(note)}[/]")
    article = extract_article(page, source.extract if source else ExtractRules(), link=link,
                              template=template)
    for warning in article.warnings:
        errors.print(f"[yellow]warning[/] {escape(warning)}")
    if fmt == "json":
        click.echo(json.dumps(article_json(article), indent=2, ensure_ascii=False))
    else:
        click.echo(article_text(article))


@cli.command()
@click.option("--source", "source_id", metavar="ID", help="Only this source's articles.")
@click.pass_obj
def reextract(obj: Context, source_id: str | None) -> None:
    """Extract stored articles again from their kept raw pages (after a rules change)."""
    from sectorwatch.pipeline import reextract as run_reextract

    config = obj.config()
    with obj.store(config) as store:
        report = run_reextract(config, store, source_id)
    for error in report.errors:
        errors.print(f"[red]failed[/] {escape(error)}")
    for warning in report.warnings:
        errors.print(f"[yellow]warning[/] {escape(warning)}")
    console.print(f"{report.total} articles re-extracted: {report.changed} changed, "
                  f"{len(report.errors)} failed")
    sys.exit(EXIT_FAILED if report.errors else EXIT_OK)


def article_json(article) -> dict:
    """An Article as JSON-ready data (dates in ISO 8601)."""
    data = dataclasses.asdict(article)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def article_text(article) -> str:
    when = f"{article.published:%Y-%m-%d} ({article.published_signal})"
    lines = [article.title, "=" * min(len(article.title), 80),
             f"{when}" + (f" · {article.author}" if article.author else "")
             + (" · truncated by a wall" if article.truncated else ""), article.url, ""]
    if article.standfirst:
        lines += [article.standfirst, ""]
    return "\n".join([*lines, article.text])


@cli.command("tag")
@click.argument("source", type=click.File("rb"), default="-", metavar="[FILE|-]")
@click.option("--title", default="", help="The article's headline (weighs more).")
@click.option("--date", "day", metavar="YYYY[-MM[-DD]]",
              help="Publication date (or its month, or year): resolves names of abolished "
                   "councils and dates judgements.")
@click.option("--explain", is_flag=True, help="Show the phrases and positions behind each tag.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json",
              show_default=True)
@click.pass_obj
def tag_cmd(obj: Context, source, title: str, day: str | None, explain: bool, fmt: str) -> None:
    """Tag plain text (a file, or standard input) by authority, topic and judgement."""
    from sectorwatch.tag import Tagger, parse_day

    try:
        day = parse_day(day)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD, YYYY-MM or YYYY",
                                 param_hint="--date") from None
    from sectorwatch.decode import decode

    text, _ = decode(source.read(MAX_TAG_INPUT))  # as pages are decoded: never a traceback
    tags = Tagger.from_config(obj.config()).tag(title, text, day).as_dict(explain)
    if fmt == "json":
        click.echo(json.dumps(tags, indent=2, ensure_ascii=False))
        return
    for a in tags["authorities"]:
        console.print(f"authority  {a['code']}  {escape(a['name'])} ({a['role']}, "
                      f"{a['mentions']}×{', in title' if a['in_title'] else ''})")
    for t in tags["topics"]:
        console.print(f"topic      {t['slug']} ({t['score']:g})")
    for j in tags["judgements"]:
        console.print(f"judgement  {j['authority']}  {j['grade'] or '-'}  {j['scope']}  "
                      f"{j['kind']}  {j['date'] or ''}"
                      f"{'  past' if j.get('past') else ''}".rstrip())


@cli.command()
@click.option("--source", "source_id", metavar="ID", help="Only this source's articles.")
@click.pass_obj
def retag(obj: Context, source_id: str | None) -> None:
    """Tag stored articles again (after changing topics or updating the gazetteer)."""
    from sectorwatch.pipeline import retag as run_retag

    config = obj.config()
    with obj.store(config) as store:
        total, changed = run_retag(config, store, source_id)
    console.print(f"{total} articles re-tagged: {changed} changed")


