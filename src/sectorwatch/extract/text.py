"""Text hygiene and identity: pure functions on extracted text."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import ftfy

_WORD = re.compile(r"\w+", re.UNICODE)
_FTFY = ftfy.TextFixerConfig(
    # Repair encoding damage only: curly quotes, ligatures and full-width letters are the
    # publisher's own typography, not errors.
    uncurl_quotes=False, fix_latin_ligatures=False, fix_character_width=False,
    normalization="NFC",
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?\s+(?=[\"'“‘(]?[A-Z0-9])")


def clean(text: str) -> str:
    """NFC, mojibake repaired, invisible characters gone, whitespace normalised, adjacent
    duplicate paragraphs (a caption shown twice) removed; paragraphs kept apart by one
    blank line."""
    if not text.isascii() and ftfy.is_bad(text):  # fix only what looks broken: it is costly
        text = ftfy.fix_text(text, config=_FTFY)
    text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFC", text).replace("\u00a0", " ").replace("\r", "")
    paragraphs: list[str] = []
    for raw in re.split(r"\n\s*\n|\n", text):
        para = " ".join(raw.split())
        if para and (not paragraphs or squash(para) != squash(paragraphs[-1])):
            paragraphs.append(para)
    return "\n\n".join(paragraphs)



def fingerprint(text: str) -> str:
    """Identity of an article's words: immune to case, punctuation, spacing and markup."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:40]


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def lead(text: str, max_words: int = 60, max_sentences: int = 3) -> str:
    """The first 1–3 sentences of ``text`` within ``max_words`` (one sentence at least,
    cut with an ellipsis if that alone is too long)."""
    first_para = text.split("\n\n", 1)[0] if text else ""
    sentences, start = [], 0
    for m in _SENTENCE_END.finditer(first_para):
        end = m.start() + len(m.group().rstrip())
        sentences.append(first_para[start:end])
        start = m.end()
    sentences.append(first_para[start:])
    sentences = [s for s in sentences if s.strip()]
    chosen: list[str] = []
    for sentence in sentences[:max_sentences]:
        if chosen and word_count(" ".join([*chosen, sentence])) > max_words:
            break
        chosen.append(sentence.strip())
    out = " ".join(chosen)
    if word_count(out) > max_words:
        words = out.split()
        out = " ".join(words[:max_words]).rstrip(",;:") + "…"
    return out


def squash(text: str) -> str:
    """Comparison form: case-folded words only."""
    return " ".join(_WORD.findall(text.casefold()))
