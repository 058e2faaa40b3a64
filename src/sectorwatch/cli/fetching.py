"""fetch, sources: polling and the health of sources."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import click
from rich import box
from rich.console import Group, JustifyMethod
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from sectorwatch.cli.root import EXIT_FAILED, EXIT_OK, Context, cli, console, errors, when
from sectorwatch.config import Config
from sectorwatch.store import SourceHealth

if TYPE_CHECKING:
    from sectorwatch.pipeline import RunReport, SourceReport


@cli.command()
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Only this source (repeatable); a named source is fetched even if not due.")
@click.option("--dry-run", is_flag=True, help="Discover and list links; store nothing.")
@click.option("--force", is_flag=True, help="Fetch every enabled source, due or not.")
@click.pass_obj
def fetch(obj: Context, source_ids: tuple[str, ...], dry_run: bool, force: bool) -> None:
    """Poll due sources and store new articles.

    Ctrl-C or SIGTERM stops it within a second or so, keeping what was stored; a second
    one exits at once.
    """
    # Imported here: extraction libraries are heavy, and most commands never need them.
    from sectorwatch.cli.progress import RichProgress
    from sectorwatch.pipeline import run_all

    config = obj.config()
    stop = threading.Event()
    with obj.store(config) as store, stop_on_signals(stop) as caught, \
            RichProgress(console) as progress:
        report = run_all(config, store, source_ids=source_ids, force=force, dry_run=dry_run,
                         progress=progress, stop=stop)
    console.print(summary_table(report, config))
    if dry_run:
        for src in report.sources:
            for link in src.links:
                console.print(f"[dim]{escape(src.source_id)}[/]  {escape(link.url)}")
    if caught:
        errors.print(f"stopped by {signal.Signals(caught[0]).name}: what was fetched is stored; "
                     "the sources marked 'stopped' are due at the next fetch")
        end_by_signal(caught[0])
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[list[int]]:
    """While in the block, SIGINT and SIGTERM set ``stop`` (and are listed in what it
    yields); a second signal exits at once, leaving the run to be called interrupted."""
    caught: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        if caught:
            os.write(2, f"second {signal.Signals(signum).name}: exiting now\n".encode())
            os._exit(128 + signum)
        caught.append(signum)
        stop.set()
        name = signal.Signals(signum).name
        os.write(2, f"{name}: stopping, keeping what was fetched ({name} again exits at once)\n"
                 .encode())

    if threading.current_thread() is not threading.main_thread():
        yield caught  # signals reach only the main thread's handlers
        return
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def end_by_signal(signum: int) -> NoReturn:
    """End the way a process killed by ``signum`` ends, now that the summary is out: a
    shell sees 128 + signum (130 for Ctrl-C) and stops the script that ran us, and a
    service manager sees the stop it asked for."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    sys.exit(128 + signum)  # only if the signal could not end us


def summary_table(report: RunReport, config: Config) -> Group:
    """The run's table, a row per source, and under it a line per source with something
    to say (why it failed, what part failed, when it is due). Notes sit under the table,
    not in a column, so that at 80 columns no header word or number is broken."""
    table = Table(title=f"Run {report.run_id}", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("source", "left"), ("status", "left"), ("new", "right"), ("known", "right"),
        ("failed", "right"), ("requests", "right"), ("time", "right"))
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True, min_width=len(name),
                         overflow="ellipsis" if name == "source" else "fold",
                         ratio=1 if name == "source" else None)
    colours = {"ok": "green", "not_modified": "green", "partial": "yellow", "failed": "red",
               "stopped": "yellow", "busy": "yellow"}
    notes = []
    for r in report.sources:
        status = f"[{colours.get(r.status, 'dim')}]{r.status}[/]"
        table.add_row(escape(r.source_id), status, str(r.new), str(r.known), str(r.failed),
                      str(r.requests), f"{r.seconds:.1f}s")
        if note := _note(r):
            notes.append(Text.assemble((r.source_id, "bold"), ": ", note))
    table.add_section()
    table.add_row("total", "", str(report.total("new")), str(report.total("known")),
                  str(report.total("failed")), str(report.total("requests")), "")
    return Group(table, *notes)


def _note(r: SourceReport) -> str:
    """What a source's row leaves unsaid, in a few words ('' for a plain success)."""
    if r.status == "skipped" and r.next_poll_at:
        return f"not due until {when(r.next_poll_at)} (use --force)"
    if r.status == "not_modified":
        return "unchanged (304)"
    if r.status == "busy":
        return "another fetch is polling its host; left due for the next run"
    if r.status == "partial":
        n = r.failed
        return (f"{n} article{'s' * (n != 1)} failed, {r.new + r.known} stored or known; "
                f"last: {r.error or 'rerun with -v for each'}")
    return r.error or ""


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


