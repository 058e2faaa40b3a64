"""run: the long-running scheduler (fetch through the week, send on its slot)."""

from __future__ import annotations

import logging
import sys

import click

from sectorwatch.cli.root import Context, cli


@cli.command()
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: key=value lines; json: one object per line.")
@click.pass_obj
def run(obj: Context, log_format: str) -> None:
    """Run the scheduler until SIGTERM or Ctrl-C: fetch due sources every
    schedule.fetch_every, send the digest on schedule.digest (logs go to stderr)."""
    from sectorwatch import logs
    from sectorwatch.scheduler import Scheduler

    config = obj.config()
    logs.configure(json_lines=log_format == "json")
    if not obj.verbose:  # one line per request is for -v; sources get one line per poll
        logging.getLogger("sectorwatch.fetch").setLevel(logging.WARNING)
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # ours say more
    sys.exit(Scheduler(config).run())
