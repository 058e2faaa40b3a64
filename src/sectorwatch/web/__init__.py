"""`sectorwatch serve`: subscribe, confirm, manage and unsubscribe; the archive of sent
issues; a page and an Atom feed per authority."""

from sectorwatch.web.app import create_app

__all__ = ["create_app"]
