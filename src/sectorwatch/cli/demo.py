"""demo: the whole job offline on the bundled sites (the work is in ``demo_run``, loaded
only when the demo runs)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sectorwatch.cli.root import cli, console


@cli.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Where the demo keeps its database, config and outbox.")
@click.option("--week", metavar="YYYY-Www", default="2018-W47", show_default=True,
              help="The issue to write (the Monday of that ISO week).")
@click.option("--serve", "serve_port", type=int, is_flag=False, flag_value=8080, default=None,
              metavar="[PORT]", help="Then serve the web pages on 127.0.0.1 (port 8080).")
def demo(workdir: Path, week: str, serve_port: int | None) -> None:
    """The whole job offline: fetch copies of sector sites served on 127.0.0.1, subscribe
    two demo readers and write the week's digest for each into an outbox folder; with
    --serve, then the web pages (subscribe, archive, authority pages) until Ctrl-C."""
    from sectorwatch.cli.demo_run import run_demo  # the web stack and all: only now
    from sectorwatch.digest.issue import issue_send_at

    try:
        issue_send_at(week)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    sys.exit(run_demo(workdir, console, week, serve_port))
