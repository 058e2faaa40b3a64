"""What every command shares: the `sectorwatch` group, the context it passes down (the
config path, opening the store), the consoles and the exit codes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import click
from rich.console import Console

from sectorwatch import __version__
from sectorwatch.config import Config, load_config, resolve_path
from sectorwatch.store import Store
from sectorwatch.store.db import new_file

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
console = Console()
errors = Console(stderr=True)


class Context:
    def __init__(self, config_path: str | None, verbose: bool = False):
        self.config_path = resolve_path(config_path)
        self.verbose = verbose

    @property
    def config_source(self) -> str:
        """Which config is in use, as a reader would look for it."""
        return str(self.config_path) if self.config_path else (
            "the built-in config (no --config, $SECTORWATCH_CONFIG or ./config.yaml)")

    def config(self) -> Config:
        return load_config(self.config_path)

    def store(self, config: Config) -> Store:
        """The store, saying so when this creates it: a first run, or a config or folder
        other than the one meant, shows here rather than as an empty list."""
        created = new_file(config.database_url)
        if created is not None:
            errors.print(f"note: creating a new database {created} (config: "
                         f"{self.config_source})", highlight=False, markup=False,
                         soft_wrap=True)
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


def when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
