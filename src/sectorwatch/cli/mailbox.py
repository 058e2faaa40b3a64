"""mailbox poll: read the unsubscribe mailbox once (from cron, where `sectorwatch run`, which
reads it every poll_every, is not used)."""

from __future__ import annotations

import click
from rich.markup import escape

from sectorwatch.cli.root import Context, cli, console


@cli.group("mailbox")
def mailbox_group() -> None:
    """The mailbox that receives unsubscribe emails (digest.unsubscribe_mailbox)."""


@mailbox_group.command("poll")
@click.pass_obj
def poll_command(obj: Context) -> None:
    """Read the unsubscribe mailbox once: each message with a reader's signed token
    unsubscribes them and is deleted; the rest are left, marked seen. Nothing is replied."""
    from sectorwatch.digest.mailbox import poll
    from sectorwatch.tokens import signer_from_env

    config = obj.config()
    settings = config.digest.unsubscribe_mailbox
    if settings.type == "none":
        raise click.UsageError("no unsubscribe mailbox is configured: set "
                               "digest.unsubscribe_mailbox (type imap or maildir)")
    signer = signer_from_env(config.web.secret_env, config.web.previous_secret_env)
    with obj.store(config) as store:
        report = poll(config, store, signer)  # a MailboxError exits 1 (a failure, not usage)
    console.print(
        f"{escape(settings.describe())}: read {report.read}; {report.unsubscribed} "
        f"unsubscribed, {report.unchanged} already unsubscribed, {report.ignored} without a "
        f"valid token (left, marked seen)" +
        (f"; {report.waiting} left for the next poll" if report.waiting else ""),
        soft_wrap=True)
