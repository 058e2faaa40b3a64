"""Sub-commands. Turns errors into messages and exit codes (0 ok, 1 some sources failed,
2 config or usage error; a fetch stopped by a signal ends by that signal, 130 or 143);
holds no pipeline logic.

Each command imports the stages it runs inside its own function, so `sectorwatch --help`
does not load the web stack, the scheduler and PDF reading; nothing is imported there to
step round an import circle (tests/test_layers.py checks there is none)."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

# The sub-commands register themselves on `cli` when their modules are imported.
from sectorwatch.cli import (  # noqa: F401
    articles,
    demo,
    digest,
    fetching,
    group,
    mailbox,
    run,
    serve,
    settings,
    subscribers,
)
from sectorwatch.cli.root import EXIT_FAILED, EXIT_USAGE, cli, errors
from sectorwatch.config import ConfigError
from sectorwatch.errors import SectorwatchError

__all__ = ["cli", "main"]


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
        # soft_wrap: a hint's command stays on one line, to be pasted as it is
        errors.print(f"[red]error[/]: {escape(str(exc))}" +
                     (f"\n  hint: {escape(exc.hint)}" if exc.hint else ""), soft_wrap=True)
        # A site or mailbox that failed us is a failure (1), not a usage error (2).
        sys.exit(EXIT_FAILED if exc.failure else EXIT_USAGE)
