"""A rich progress bar per source, fed by the pipeline's Progress callbacks."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from sectorwatch.pipeline import SourceReport
from sectorwatch.sources.base import SourceBase


class RichProgress:
    """Context manager; safe to call from the pipeline's worker threads."""

    def __init__(self, console: Console):
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
            console=console, transient=False, disable=not console.is_terminal,
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def source_started(self, source: SourceBase) -> None:
        with self._lock:
            self._tasks[source.id] = self._progress.add_task(
                escape(source.id), total=None, state="discovering")

    def links_found(self, source: SourceBase, count: int) -> None:
        self._progress.update(self._tasks[source.id], total=count, state="fetching")

    def article_done(self, source: SourceBase) -> None:
        self._progress.advance(self._tasks[source.id])

    def source_finished(self, source: SourceBase, report: SourceReport) -> None:
        task = self._tasks[source.id]
        total = self._progress.tasks[task].total or 0
        self._progress.update(task, total=total, completed=total, state=report.status)
