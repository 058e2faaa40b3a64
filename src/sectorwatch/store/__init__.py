"""Persistence: SQLAlchemy Core over SQLite (default) or any URL SQLAlchemy accepts."""

from sectorwatch.store.db import SourceHealth, Store, StoreError

__all__ = ["SourceHealth", "Store", "StoreError"]
