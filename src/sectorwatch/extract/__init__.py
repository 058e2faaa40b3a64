"""Page → Article: main text, title, dates; pure functions, no I/O."""

from sectorwatch.extract.article import extract_article

__all__ = ["extract_article"]
