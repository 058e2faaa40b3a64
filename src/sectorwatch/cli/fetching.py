"""fetch, sources: polling and the health of sources."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from sectorwatch.cli import EXIT_FAILED, EXIT_OK, Context, cli, console, when
from sectorwatch.config import Config
from sectorwatch.store import SourceHealth

if TYPE_CHECKING:
    from sectorwatch.pipeline import RunReport


@cli.command()
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Only this source (repeatable); a named source is fetched even if not due.")
@click.option("--dry-run", is_flag=True, help="Discover and list links; store nothing.")
@click.option("--force", is_flag=True, help="Fetch every enabled source, due or not.")
@click.pass_obj
def fetch(obj: Context, source_ids: tuple[str, ...], dry_run: bool, force: bool) -> None:
    """Poll due sources and store new articles."""
    # Imported here: extraction libraries are heavy, and most commands never need them.
    from sectorwatch.pipeline import run_all
    from sectorwatch.progress import RichProgress

    config = obj.config()
    with obj.store(config) as store, RichProgress(console) as progress:
        report = run_all(config, store, source_ids=source_ids, force=force, dry_run=dry_run,
                         progress=progress)
    console.print(summary_table(report, config))
    if dry_run:
        for src in report.sources:
            for link in src.links:
                console.print(f"[dim]{escape(src.source_id)}[/]  {escape(link.url)}")
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def summary_table(report: RunReport, config: Config) -> Table:
    table = Table(title=f"Run {report.run_id}", title_justify="left")
    for name, justify in (("source", "left"), ("status", "left"), ("new", "right"),
                          ("known", "right"), ("failed", "right"), ("requests", "right"),
                          ("time", "right"), ("note", "left")):
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name == "source")
    colours = {"ok": "green", "not_modified": "green", "partial": "yellow", "failed": "red",
               "stopped": "yellow"}
    for r in report.sources:
        note = r.error or ""
        if r.status == "skipped" and r.next_poll_at:
            note = f"not due until {when(r.next_poll_at)} (use --force)"
        elif r.status == "not_modified":
            note = "unchanged (304)"
        status = f"[{colours.get(r.status, 'dim')}]{r.status}[/]"
        table.add_row(escape(r.source_id), status, str(r.new), str(r.known), str(r.failed),
                      str(r.requests), f"{r.seconds:.1f}s", escape(note))
    table.add_section()
    table.add_row("total", "", str(report.total("new")), str(report.total("known")),
                  str(report.total("failed")), str(report.total("requests")), "", "")
    return table


@cli.command()
@click.pass_obj
def sources(obj: Context) -> None:
    """List configured sources and their health."""
    config = obj.config()
    with obj.store(config) as store:
        health = store.health()
    table = Table()
    for name in ("id", "type", "enabled", "last success", "health", "next poll"):
        table.add_column(name, overflow="fold", no_wrap=name == "id")
    for src in config.sources:
        h = health.get(src.id)
        table.add_row(escape(src.id), src.type, "yes" if src.enabled else "no",
                      when(h.last_success_at) if h and h.last_success_at else "never",
                      escape(describe_health(h)),
                      when(h.next_poll_at) if h and h.next_poll_at else "now")
    console.print(table)


def describe_health(h: SourceHealth | None) -> str:
    """'ok', 'never polled', or 'failing since 2026-11-20, 3 errors: HTTP 403'."""
    if h is None or h.last_attempt_at is None:
        return "never polled"
    if h.failing_since:
        n = h.consecutive_failures
        return (f"failing since {h.failing_since:%Y-%m-%d}, {n} error{'s' * (n != 1)}: "
                f"{h.last_error}")
    if h.last_error and h.last_error_at and h.last_success_at and \
            h.last_error_at >= h.last_success_at:
        return f"ok (an article failed: {h.last_error})"
    return "ok"


