"""config check: the configuration, validated."""

from __future__ import annotations

import click
from rich.markup import escape

from sectorwatch.cli.root import Context, cli, console, errors
from sectorwatch.config import placeholders, topic_changes
from sectorwatch.errors import SectorwatchError
from sectorwatch.store.db import url_problem


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_obj
def config_check(obj: Context) -> None:
    """Validate the config and report every problem at once."""
    config = obj.config()
    where = obj.config_path or "built-in config.yaml"
    problem = url_problem(config.database_url)
    if problem is not None:
        raise SectorwatchError(f"{where}: database_url: {problem[0]}", hint=problem[1])
    enabled = sum(1 for s in config.sources if s.enabled)
    console.print(f"[green]OK[/] {escape(str(where))}: {len(config.sources)} sources "
                  f"({enabled} enabled)")
    changes = topic_changes(config)
    said = "; ".join(f"{kind} {', '.join(slugs)}" for kind, slugs in changes.items() if slugs)
    console.print(f"topics: {len(config.topics)} "
                  f"({escape(said) if said else 'the shipped list'})", soft_wrap=True)
    box = config.digest.unsubscribe_mailbox
    ways = ("one-click https only (no mailbox configured)" if box.type == "none" else
            f"https and mailto:{config.digest.unsubscribe_mailto} (read from "
            f"{box.describe()} every {_every(box.poll_every)})")
    console.print(f"unsubscribe: {escape(ways)}", soft_wrap=True)
    for path, value in placeholders(config):
        errors.print(f"warning: {path} still names the example domain ({value}) while "
                     f"digest.from_address is your own; set it too", markup=False,
                     highlight=False, soft_wrap=True)


def _every(seconds: float) -> str:
    """300 → '5m', 7200 → '2h': a duration as config.yaml writes it."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
