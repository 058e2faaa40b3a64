"""What Store's mixins (tags.py, subscribers.py, …) use of Store itself."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection, Engine


class StoreBase:
    """The base of Store's mixins: its engine and its write transaction."""

    engine: Engine

    def _write(self) -> AbstractContextManager[Connection]:
        """One write transaction; Store provides it."""
        raise NotImplementedError
