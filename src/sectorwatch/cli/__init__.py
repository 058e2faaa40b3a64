"""Sub-commands. Turns errors into messages and exit codes (0 ok, 1 some sources failed,
2 config or usage error; a fetch stopped by a signal ends by that signal, 130 or 143);
holds no pipeline logic.

Each command imports the stages it runs inside its own function, so `sectorwatch --help`
does not load the web stack, the scheduler and PDF reading; nothing is imported there to
step round an import circle (there is none)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from sectorwatch import __version__
from sectorwatch.config import Config, ConfigError, load_config, resolve_path
from sectorwatch.errors import SectorwatchError
from sectorwatch.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
console = Console()
errors = Console(stderr=True)


class Context:
    def __init__(self, config_path: str | None, verbose: bool = False):
        self.config_path = resolve_path(config_path)
        self.verbose = verbose

    def config(self) -> Config:
        return load_config(self.config_path)

    def store(self, config: Config) -> Store:
        return Store.open(config.database_url)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar="SECTORWATCH_CONFIG",
              help="Config file (default: $SECTORWATCH_CONFIG, ./config.yaml, built-in).")
@click.option("-v", "--verbose", is_flag=True, help="Log each request and error.")
@click.version_option(__version__, prog_name="sectorwatch")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Children's-services sector news: fetch, extract, tag, digest."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(config_path, verbose)


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_obj
def config_check(obj: Context) -> None:
    """Validate the config and report every problem at once."""
    config = obj.config()
    where = obj.config_path or "built-in config.yaml"
    enabled = sum(1 for s in config.sources if s.enabled)
    console.print(f"[green]OK[/] {escape(str(where))}: {len(config.sources)} sources "
                  f"({enabled} enabled)")
    box = config.digest.unsubscribe_mailbox
    ways = ("one-click https only (no mailbox configured)" if box.type == "none" else
            f"https and mailto:{config.digest.unsubscribe_mailto} (read from "
            f"{box.describe()} every {_every(box.poll_every)})")
    console.print(f"unsubscribe: {escape(ways)}", soft_wrap=True)


def _every(seconds: float) -> str:
    """300 → '5m', 7200 → '2h': a duration as config.yaml writes it."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


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
    from sectorwatch.cli.demo import run_demo
    from sectorwatch.digest.issue import issue_send_at

    try:
        issue_send_at(week)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    sys.exit(run_demo(workdir, console, week, serve_port))


def when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except ConfigError as exc:
        errors.print(f"[red]config error[/] ({len(exc.problems)} problem"
                     f"{'s' * (len(exc.problems) != 1)}):")
        for problem in exc.problems:
            errors.print(f"  {escape(str(problem))}", soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        errors.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except SectorwatchError as exc:
        errors.print(f"[red]error[/]: {escape(str(exc))}" +
                     (f"\n  hint: {escape(exc.hint)}" if exc.hint else ""))
        # A site or mailbox that failed us is a failure (1), not a usage error (2).
        sys.exit(EXIT_FAILED if exc.failure else EXIT_USAGE)


# The sub-commands register themselves on `cli` when their modules are imported.
from sectorwatch.cli import (  # noqa: E402,F401
    articles,
    digest,
    fetching,
    group,
    mailbox,
    run,
    serve,
    subscribers,
)
