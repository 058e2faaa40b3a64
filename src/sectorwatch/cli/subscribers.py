"""subscribe, unsubscribe, subscribers: who gets the digest."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from sectorwatch.cli import Context, cli, console


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
@click.pass_obj
def subscribe(obj: Context, email: str, name: str, authorities: tuple[str, ...],
              regions: tuple[str, ...], topics: tuple[str, ...], fmt: str) -> None:
    """Add a subscriber to the weekly digest (or change what they follow)."""
    from sectorwatch.digest.subscribers import SubscriberSpec, check_email, resolve_filters

    config = obj.config()
    filters = resolve_filters(authorities, regions, topics, [t.slug for t in config.topics])
    spec = SubscriberSpec(check_email(email), name, "active", fmt, filters)
    with obj.store(config) as store:
        outcome = store.save_subscriber(spec)
    console.print(f"{outcome} {escape(spec.email)}: follows {escape(filters.describe())}")


@cli.command()
@click.argument("email")
@click.pass_obj
def unsubscribe(obj: Context, email: str) -> None:
    """Stop sending the digest to an address (kept, marked unsubscribed)."""
    from sectorwatch.digest.subscribers import SubscriberError, check_email

    config = obj.config()
    with obj.store(config) as store:
        address = check_email(email)
        if not store.set_subscriber_status(address, "unsubscribed"):
            raise SubscriberError(f"{address} is not a subscriber")
    console.print(f"unsubscribed {escape(address)}")


@cli.group("subscribers")
def subscribers_group() -> None:
    """List, export and import subscribers."""


@subscribers_group.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed"]))
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
@click.pass_obj
def subscribers_import(obj: Context, path: Path) -> None:
    """Add or update subscribers from a CSV file; every row is checked before any is saved."""
    from sectorwatch.digest.subscribers import parse_csv

    config = obj.config()
    specs = parse_csv(path.read_text(encoding="utf-8-sig"), [t.slug for t in config.topics])
    with obj.store(config) as store:
        outcomes = [store.save_subscriber(spec) for spec in specs]
    console.print(f"{outcomes.count('added')} added, {outcomes.count('updated')} updated")


