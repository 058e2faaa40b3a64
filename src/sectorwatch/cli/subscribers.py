"""subscribe, unsubscribe, subscribers: who gets the digest."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from sectorwatch.cli.root import Context, cli, console, errors, when

RESUBSCRIBE_HELP = ("Make active again an address that unsubscribed or bounced. Only for "
                    "when its owner asked you: it is recorded, with a warning.")


@cli.command()
@click.argument("email")
@click.option("--name", default="", help="How the digest greets them.")
@click.option("--authority", "authorities", multiple=True, metavar="NAME|CODE",
              help="Follow this authority (repeatable).")
@click.option("--region", "regions", multiple=True, metavar="REGION",
              help="Follow every authority in this region (repeatable).")
@click.option("--topic", "topics", multiple=True, metavar="SLUG",
              help="Follow this topic (repeatable). No filters at all: everything.")
@click.option("--format", "fmt", type=click.Choice(["html", "text"]), default="html",
              show_default=True)
@click.option("--resubscribe", is_flag=True, help=RESUBSCRIBE_HELP)
@click.pass_obj
def subscribe(obj: Context, email: str, name: str, authorities: tuple[str, ...],
              regions: tuple[str, ...], topics: tuple[str, ...], fmt: str,
              resubscribe: bool) -> None:
    """Add a subscriber to the weekly digest (or change what they follow)."""
    from sectorwatch.digest.subscribers import (
        SubscriberError,
        SubscriberSpec,
        check_email,
        resolve_filters,
    )

    config = obj.config()
    filters = resolve_filters(authorities, regions, topics, [t.slug for t in config.topics])
    spec = SubscriberSpec(check_email(email), name, "active", fmt, filters)
    with obj.store(config) as store:
        before = store.subscriber_state(spec.email)
        outcome = store.save_subscriber(spec, via="cli", resubscribe=resubscribe)
    if outcome == "refused":
        assert before is not None
        raise SubscriberError(f"{spec.email} {_left(before)}; not subscribed again",
                              hint="only its owner can come back, through the subscribe "
                                   "form's confirmation email; if they asked you, pass "
                                   "--resubscribe (it is recorded)")
    if before is not None and before.status in ("unsubscribed", "bounced"):
        errors.print(f"[yellow]warning[/]: {escape(spec.email)} {escape(_left(before))}; "
                     "made active again by --resubscribe (recorded)")
    console.print(f"{outcome} {escape(spec.email)}: follows {escape(filters.describe())}")


def _left(state) -> str:
    """'unsubscribed on 2026-11-02 (by one-click link)'."""
    when = f" on {state.since:%Y-%m-%d}" if state.since else ""
    how = {"link": "by the digest's one-click link", "mailbox": "by email",
           "web": "on the web", "cli": "on the command line", "import": "by an import",
           "send": state.detail}.get(state.via, "")
    return f"{state.status}{when}" + (f" ({how})" if how else "")


@cli.command()
@click.argument("email")
@click.pass_obj
def unsubscribe(obj: Context, email: str) -> None:
    """Stop sending the digest to an address (kept, marked unsubscribed)."""
    from sectorwatch.digest.subscribers import SubscriberError, check_email

    config = obj.config()
    with obj.store(config) as store:
        address = check_email(email)
        if not store.set_subscriber_status(address, "unsubscribed", via="cli"):
            raise SubscriberError(f"{address} is not a subscriber")
    console.print(f"unsubscribed {escape(address)}")


@cli.group("subscribers")
def subscribers_group() -> None:
    """List, export and import subscribers."""


@subscribers_group.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced"]))
@click.pass_obj
def subscribers_list(obj: Context, status: str | None) -> None:
    """Show subscribers and what they follow."""
    config = obj.config()
    with obj.store(config) as store:
        rows = store.subscribers(status)
    table = Table()
    for column in ("email", "name", "status", "format", "follows"):
        table.add_column(column, overflow="fold")
    for spec, _ in rows:
        table.add_row(escape(spec.email), escape(spec.name), spec.status, spec.format,
                      escape(spec.filters.describe()))
    console.print(table)
    console.print(f"{len(rows)} subscriber{'s' * (len(rows) != 1)}")


@subscribers_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def subscribers_export(obj: Context, path: Path) -> None:
    """Write every subscriber to a CSV file (authorities as GSS codes, '|' between values)."""
    from sectorwatch.digest.subscribers import to_csv

    config = obj.config()
    with obj.store(config) as store:
        rows = [spec for spec, _ in store.subscribers()]
    path.write_text(to_csv(rows), encoding="utf-8")
    console.print(f"{len(rows)} subscribers written to {escape(str(path))}")


@subscribers_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--resubscribe", is_flag=True, help=RESUBSCRIBE_HELP)
@click.pass_obj
def subscribers_import(obj: Context, path: Path, resubscribe: bool) -> None:
    """Add or update subscribers from a CSV file; every row is checked before any is saved.
    An address that unsubscribed or bounced is not made active again (it is skipped and
    counted) unless --resubscribe is given."""
    from sectorwatch.digest.subscribers import parse_csv

    config = obj.config()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text ({exc.reason} at byte "
                                   f"{exc.start}); save the CSV as UTF-8") from None
    specs = parse_csv(text, [t.slug for t in config.topics])
    skipped: dict[str, list[str]] = {}
    brought_back: list[str] = []
    outcomes = []
    with obj.store(config) as store:
        for spec in specs:
            before = store.subscriber_state(spec.email)
            outcome = store.save_subscriber(spec, via="import", resubscribe=resubscribe)
            outcomes.append(outcome)
            if before is None or before.status not in ("unsubscribed", "bounced"):
                continue
            if outcome == "refused":
                skipped.setdefault(before.status, []).append(spec.email)
            elif spec.status not in ("unsubscribed", "bounced"):
                brought_back.append(spec.email)
    console.print(f"{outcomes.count('added')} added, {outcomes.count('updated')} updated, "
                  f"{outcomes.count('refused')} skipped")
    for status, emails in skipped.items():
        console.print(f"  skipped {len(emails)} {status}: {escape(', '.join(emails))} (only "
                      "they can subscribe again; --resubscribe if they asked you)")
    if brought_back:
        errors.print(f"[yellow]warning[/]: {len(brought_back)} made active again by "
                     f"--resubscribe (recorded): {escape(', '.join(brought_back))}")


@subscribers_group.command("history")
@click.argument("email")
@click.pass_obj
def subscribers_history(obj: Context, email: str) -> None:
    """Every change of an address's status, and how it came about (the consent record)."""
    from sectorwatch.digest.subscribers import SubscriberError, check_email

    config = obj.config()
    address = check_email(email)
    with obj.store(config) as store:
        rows = store.subscriber_history(address)
        if not rows and store.subscriber_state(address) is None:
            raise SubscriberError(f"{address} is not a subscriber")
    table = Table()
    for column in ("when", "status", "via", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(when(row.at), row.event, row.via, escape(row.detail))
    console.print(table)
