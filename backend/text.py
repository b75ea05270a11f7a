"""Comparing what people type: case and accents folded, as Spanish speakers on phones type them
inconsistently ("Maíz", "maiz", "MAIZ" are one word)."""
from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Lowercase, without accents."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def plain_words(text: str) -> list[str]:
    """The folded words of `text`, punctuation dropped."""
    return re.findall(r"\w+", fold(text))


def plain(text: str) -> str:
    """The folded words joined by single spaces: for equality and containment checks."""
    return " ".join(plain_words(text))
