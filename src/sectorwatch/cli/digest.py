"""digest preview, send, list: the weekly email."""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from sectorwatch.cli import EXIT_FAILED, EXIT_OK, Context, cli, console


@cli.group("digest")
def digest_group() -> None:
    """Preview, send and list the weekly digest."""


def _send_time(week: str | None) -> datetime:
    """Monday 08:00 London of an ISO week (2026-W48), or now."""
    from sectorwatch.digest.select import LONDON

    if not week:
        return datetime.now(LONDON)
    if not re.fullmatch(r"\d{4}-W\d{2}", week):
        raise click.BadParameter("use an ISO week like 2026-W48", param_hint="--week")
    monday = datetime.strptime(f"{week}-1", "%G-W%V-%u")
    return monday.replace(hour=8, tzinfo=LONDON)


@digest_group.command("preview")
@click.option("--subscriber", "email", metavar="EMAIL", help="As this subscriber sees it.")
@click.option("--week", metavar="YYYY-Www", help="The issue sent that Monday (default: now).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("preview"),
              show_default=True, help="Folder for the .html and .txt files.")
@click.pass_obj
def preview(obj: Context, email: str | None, week: str | None, out: Path) -> None:
    """Write the digest's HTML and text to files, send nothing."""
    from sectorwatch.digest.message import manage_url, unsubscribe_url
    from sectorwatch.digest.render import environment, render
    from sectorwatch.digest.select import select, week_before
    from sectorwatch.digest.send import issue_key, week_entries
    from sectorwatch.digest.subscribers import Filters, SubscriberError, check_email

    config = obj.config()
    send_at = _send_time(week)
    start, end = week_before(send_at)
    with obj.store(config) as store:
        entries = week_entries(config, store, start, end)
        name, filters, token = "", Filters(), "PREVIEW"
        if email:
            address = check_email(email)
            found = [(s, t) for s, t in store.subscribers() if s.email == address]
            if not found:
                raise SubscriberError(f"{address} is not a subscriber")
            (spec, token), = found
            name, filters = spec.name, spec.filters
    settings = config.digest
    topics = [(t.slug, t.label) for t in config.topics]
    chosen = select(entries, filters, start, end, topics, settings.section_cap)
    env = environment(Path(settings.templates_dir) if settings.templates_dir else None)
    rendered = render(chosen, name=name, issue_date=send_at,
                      manage_url=manage_url(settings, token),
                      unsubscribe_url=unsubscribe_url(settings, token), env=env)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"digest-{issue_key(send_at)}"
    html, text = stem.with_suffix(".html"), stem.with_suffix(".txt")
    html.write_text(rendered.html, encoding="utf-8")
    text.write_text(rendered.text, encoding="utf-8")
    console.print(f"{chosen.count} stories, {len(rendered.html.encode()):,} bytes of HTML")
    console.print(escape(str(html)))
    console.print(escape(str(text)))


@digest_group.command("send")
@click.option("--week", metavar="YYYY-Www", help="The issue to send (default: this week's).")
@click.option("--dry-run", is_flag=True, help="Say who would get what; send nothing.")
@click.pass_obj
def send(obj: Context, week: str | None, dry_run: bool) -> None:
    """Send the issue to every active subscriber (safe to run again: nobody gets it twice)."""
    from sectorwatch.digest.select import select, week_before
    from sectorwatch.digest.send import issue_key, send_issue, week_entries
    from sectorwatch.digest.transport import transport_for

    config = obj.config()
    send_at = _send_time(week)
    with obj.store(config) as store:
        if dry_run:
            start, end = week_before(send_at)
            entries = week_entries(config, store, start, end)
            topics = [(t.slug, t.label) for t in config.topics]
            for _, spec, _ in store.subscriber_rows("active"):
                chosen = select(entries, spec.filters, start, end, topics,
                                config.digest.section_cap)
                console.print(f"{escape(spec.email)}: {chosen.count} stories")
            console.print(f"issue {issue_key(send_at)}: {len(entries)} stories this week "
                          "(dry run: nothing sent)")
            return
        transport = transport_for(config.digest)
        try:
            report = send_issue(config, store, transport, send_at)
        finally:
            transport.close()
    console.print(f"issue {report.issue}: {report.stories} stories; sent {report.sent}, "
                  f"skipped {report.skipped}, deferred {report.deferred}, "
                  f"failed {report.failed}")
    for error in report.errors:
        console.print(f"  [yellow]{escape(error)}[/]")
    sys.exit(EXIT_FAILED if report.failed or report.deferred else EXIT_OK)


@digest_group.command("list")
@click.pass_obj
def list_issues(obj: Context) -> None:
    """Past issues and how their deliveries went."""
    config = obj.config()
    with obj.store(config) as store:
        counts = store.delivery_counts()
    table = Table()
    for column in ("issue", "sent", "skipped", "deferred", "failed", "pending"):
        table.add_column(column, justify="right" if column != "issue" else "left")
    for issue, c in counts.items():
        table.add_row(issue, *(str(c.get(k, 0)) for k in ("sent", "skipped", "deferred",
                                                           "failed", "pending")))
    console.print(table)
