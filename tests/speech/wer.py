"""Word error rate with Spanish numbers normalised the way the backend reads them: «doce» = «12»,
«cincuenta y cinco» = «50 y 5» = «55»; accents, case and punctuation do not count."""
from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from backend.understanding.reading import normalize


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", normalize(text))


def word_error_rate(reference: str, heard: str) -> float:
    """Word-level edits (substitutions, insertions, deletions) over the reference's word count."""
    expected = words(reference)
    return Levenshtein.distance(expected, words(heard)) / max(1, len(expected))
