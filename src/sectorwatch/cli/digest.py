"""digest preview, send, list: the weekly email."""

from __future__ import annotations

import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from sectorwatch.cli.root import EXIT_FAILED, EXIT_OK, Context, cli, console
from sectorwatch.config import Config


@cli.group("digest")
def digest_group() -> None:
    """Preview, send and list the weekly digest."""


def _send_time(config: Config, week: str | None) -> datetime:
    """The digest slot of an ISO week (2026-W48), or now, in the schedule's zone."""
    from sectorwatch.digest.issue import issue_send_at, zone_of

    if not week:
        return datetime.now(zone_of(config))
    try:
        return issue_send_at(week, config.schedule)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None


def _file_part(email: str) -> str:
    """An address as part of a file name: each reader's preview has its own file."""
    return re.sub(r"[^a-z0-9@._-]+", "-", email.strip().lower()).strip(".-")[:80] or "reader"


def _stories(n: int) -> str:
    return f"{n} stor{'y' if n == 1 else 'ies'}"


@digest_group.command("preview")
@click.option("--subscriber", "email", metavar="EMAIL", help="As this subscriber sees it.")
@click.option("--week", metavar="YYYY-Www", help="The issue sent that Monday (default: now).")
@click.option("--out", type=click.Path(dir_okay=True, path_type=Path), default=Path("preview"),
              show_default=True,
              help="Folder for the .html and .txt files (named for the week and the "
                   "subscriber), or a FILE.html to write.")
@click.pass_obj
def preview(obj: Context, email: str | None, week: str | None, out: Path) -> None:
    """Write the digest's HTML and text to files, send nothing."""
    from sectorwatch.digest.issue import IssueRenderer, issue_entries, issue_key, zone_of
    from sectorwatch.digest.subscribers import Filters, SubscriberError, check_email
    from sectorwatch.tokens import preview_signer

    config = obj.config()
    send_at = _send_time(config, week)
    with obj.store(config) as store:
        entries = issue_entries(config, store, send_at)
        name, filters, token = "", Filters(), "PREVIEW-not-a-subscriber"
        if email:
            address = check_email(email)
            found = store.subscriber(address)
            if found is None:
                raise SubscriberError(f"{address} is not a subscriber")
            spec, token = found
            name, filters = spec.name, spec.filters
    renderer = IssueRenderer(config, entries, send_at,
                             preview_signer(config.web.secret_env, config.web.previous_secret_env))
    chosen = renderer.selection(filters)
    rendered = renderer.render(chosen, name, token)
    if out.suffix.lower() in (".html", ".htm"):
        html, text = out, out.with_suffix(".txt")
    else:
        reader = f"-{_file_part(email)}" if email else ""
        stem = f"digest-{issue_key(send_at, zone_of(config))}{reader}"
        html, text = out / f"{stem}.html", out / f"{stem}.txt"
    try:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(rendered.html, encoding="utf-8")
        text.write_text(rendered.text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write the preview to {out}: "
                                   f"{exc.strerror or exc}") from None
    console.print(f"{_stories(chosen.count)}, {len(rendered.html.encode()):,} bytes of HTML")
    console.print(escape(str(html)))
    console.print(escape(str(text)))


@digest_group.command("send")
@click.option("--week", metavar="YYYY-Www", help="The issue to send (default: this week's).")
@click.option("--dry-run", is_flag=True, help="Say who would get what; send nothing.")
@click.pass_obj
def send(obj: Context, week: str | None, dry_run: bool) -> None:
    """Send the issue to every active subscriber (safe to run again: nobody gets it twice)."""
    from sectorwatch.digest.delivery import send_issue
    from sectorwatch.digest.issue import dry_run as plan
    from sectorwatch.digest.transport import transport_for
    from sectorwatch.tokens import ephemeral_signer

    config = obj.config()
    send_at = _send_time(config, week)
    with obj.store(config) as store:
        if dry_run:
            planned = plan(config, store, send_at, ephemeral_signer())
            for reader in planned.readers:
                what = (_stories(reader.stories) if reader.stories else
                        "nothing matched" + ("" if reader.sent else " (not sent)"))
                console.print(f"{escape(reader.email)}: {what}")
            console.print(f"issue {planned.issue}: {_stories(planned.stories)}; "
                          f"{planned.already_sent} already sent (dry run: nothing sent)")
            return
        transport = transport_for(config.digest)
        try:
            report = send_issue(config, store, transport, send_at)
        finally:
            transport.close()
    console.print(f"issue {report.issue}: {_stories(report.stories)}; sent {report.sent}, "
                  f"skipped {report.skipped}, deferred {report.deferred}, "
                  f"failed {report.failed}")
    if report.bounced:
        console.print(f"  {report.bounced} address{'es' * (report.bounced != 1)} marked "
                      f"bounced after {config.digest.bounce_limit} hard failures in a row: "
                      "no longer mailed (`subscribers list --status bounced`)")
    for error in report.errors:
        console.print(f"  [yellow]{escape(error)}[/]")
    sys.exit(EXIT_FAILED if report.failed or report.deferred else EXIT_OK)


@digest_group.command("list")
@click.pass_obj
def list_issues(obj: Context) -> None:
    """Past issues: their week, stories, and how their deliveries went."""
    from sectorwatch.digest.issue import zone_of

    config = obj.config()
    zone = zone_of(config)
    with obj.store(config) as store:
        issues = store.issue_list()
        counts = store.delivery_counts()
    table = Table()
    table.add_column("issue")
    table.add_column("covers")
    for column in ("stories", "sent", "skipped", "deferred", "failed", "pending"):
        table.add_column(column, justify="right")
    for row in issues:
        c = counts.get(row.key, Counter())
        pending = c.get("pending", 0) + c.get("sending", 0)
        table.add_row(row.key, f"{row.starts_at.astimezone(zone):%-d %b} to "
                      f"{row.ends_at.astimezone(zone):%-d %b %Y}",
                      str(row.story_count),
                      *(str(c.get(k, 0)) for k in ("sent", "skipped", "deferred", "failed")),
                      str(pending))
    if not issues:
        console.print("No issue has been sent yet.")
        return
    console.print(table)
