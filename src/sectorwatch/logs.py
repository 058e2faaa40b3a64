"""Structured log lines for long-running work: one event per line on stderr, as logfmt
(``ts=… level=info event=digest.sent issue=2026-W48 sent=120``) or as JSON objects.

Every record passes through the same formatter, so lines from libraries (APScheduler) and
from other modules carry a timestamp and level too; their event is ``log``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_.:/@+\-]+$")


def event(logger: logging.Logger, name: str, msg: str = "", *, level: int = logging.INFO,
          **fields: Any) -> None:
    """Log one event: a stable dotted ``name``, a human sentence, and typed fields."""
    logger.log(level, msg or name, extra={"event": name, "fields": fields})


class EventFormatter(logging.Formatter):
    """Formats records as logfmt or JSON, with a UTC timestamp and the event's fields."""

    def __init__(self, json_lines: bool = False):
        super().__init__()
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                  .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", "log"),
        }
        data.update(getattr(record, "fields", {}))
        data["msg"] = record.getMessage()
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        if self.json_lines:
            return json.dumps(data, default=_plain, ensure_ascii=False)
        return " ".join(f"{key}={_logfmt(value)}" for key, value in data.items())


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _logfmt(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, bool):
        value = str(value).lower()
    elif value is None:
        return "null"
    text = str(value)
    if text and _BARE.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with \n and \" escaped


def configure(json_lines: bool = False, level: int = logging.INFO) -> None:
    """Send every logger's records to stderr through EventFormatter (replacing handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EventFormatter(json_lines))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
