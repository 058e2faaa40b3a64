"""Structured log lines: one line per event, whatever the values hold."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from sectorwatch.logs import EventFormatter, event


def record(capture: list, json_lines: bool):
    class Keep(logging.Handler):
        def emit(self, rec):
            capture.append(self.format(rec))

    handler = Keep()
    handler.setFormatter(EventFormatter(json_lines))
    log = logging.getLogger(f"sectorwatch.test.{json_lines}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def test_logfmt_quotes_what_needs_it_and_keeps_one_line_per_event():
    lines: list[str] = []
    log = record(lines, json_lines=False)
    hostile = 'Title\nts=2026 level=error event=forged msg="x"'
    event(log, "source.polled", "polled", source="cyp-now", new=3, ok=True, error=None,
          title=hostile, at=datetime(2026, 11, 23, 8, tzinfo=UTC))
    [line] = lines
    assert "\n" not in line and " event=source.polled " in line
    assert "source=cyp-now new=3 ok=true error=null" in line
    assert 'title="Title\\nts=2026 level=error event=forged msg=\\"x\\""' in line
    assert "at=2026-11-23T08:00:00+00:00" in line and line.startswith("ts=")


def test_json_lines_carry_the_fields_typed_and_other_loggers_too():
    lines: list[str] = []
    log = record(lines, json_lines=True)
    event(log, "digest.sent", "sent", issue="2026-W48", sent=12, stopped=False,
          slot=datetime(2026, 11, 23, 8, tzinfo=UTC))
    log.warning("plain message with\nnewline")
    first, second = (json.loads(line) for line in lines)
    assert (first["event"], first["sent"], first["stopped"]) == ("digest.sent", 12, False)
    assert first["slot"] == "2026-11-23T08:00:00+00:00" and first["level"] == "info"
    assert (second["event"], second["level"]) == ("log", "warning")
    assert second["msg"] == "plain message with\nnewline" and len(lines) == 2
