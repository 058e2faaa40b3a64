"""Errors that carry their context (stage, URL) and a hint; cli.py turns them into exit codes."""

from __future__ import annotations


class SectorwatchError(Exception):
    """Base error: ``stage`` says which step failed, ``hint`` what a user could do."""

    stage = "run"
    failure = False
    """True when the outside world failed (a site, a mailbox), not what the user asked:
    the command then exits 1, not 2."""

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.url = url
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class FetchError(SectorwatchError):
    """An HTTP request did not give a usable response.

    ``kind`` is one of: connection, timeout, unreachable (no answer even to robots.txt),
    http, blocked (a refused or private address), too_large, content_type, redirects,
    robots, rate_limited, stopped (a stop was asked for: not a failure of the source).
    """

    stage = "fetch"
    failure = True

    def __init__(self, message: str, *, kind: str, url: str | None = None,
                 status: int | None = None, retry_after: float | None = None,
                 hint: str | None = None):
        super().__init__(message, url=url, hint=hint)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth trying again later (as opposed to a page that is gone or refused)."""
        return self.kind in ("connection", "timeout", "unreachable", "rate_limited") or (
            self.kind == "http" and self.status is not None and self.status >= 500
        )


class ParseError(SectorwatchError):
    """A response arrived but could not be read as what was expected."""

    stage = "parse"
    failure = True


class ExtractError(SectorwatchError):
    """A page was read but held no article."""

    stage = "extract"
    failure = True
