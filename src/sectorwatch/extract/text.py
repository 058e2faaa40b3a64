"""Text helpers shared by extractors: hygiene and identity."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    """NFC, no stray spaces, paragraphs separated by one blank line."""
    text = unicodedata.normalize("NFC", text).replace("\u00a0", " ").replace("\r", "")
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def fingerprint(text: str) -> str:
    """Identity of an article's words: immune to case, punctuation, spacing and markup."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:40]


def word_count(text: str) -> int:
    return len(_WORD.findall(text))
