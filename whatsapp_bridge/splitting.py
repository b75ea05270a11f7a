"""Long replies cut into WhatsApp-sized messages (4,096 characters), at sentence ends where
possible so that no message stops mid-thought. Each piece is a slice of the reply, so line breaks
(lists, steps) survive inside it."""
from __future__ import annotations

import re

WHATSAPP_MAX_CHARS = 4096

# Where a cut may go, best first: after a sentence end (. ! ? … and any closing quote or bracket)
# or a line break; else after a space; else anywhere.
_SENTENCE_END = re.compile(r"[.!?…][\"')\]»]*(?=\s)|\n")
_SPACE = re.compile(r"\s")


def split_message(text: str, limit: int = WHATSAPP_MAX_CHARS) -> list[str]:
    text = text.strip()
    pieces = []
    while len(text) > limit:
        cut = _last_cut(_SENTENCE_END, text, limit) or _last_cut(_SPACE, text, limit) or limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _last_cut(pattern: re.Pattern, text: str, limit: int) -> int | None:
    """The end of the last match that leaves the first piece within the limit and not empty."""
    cut = None
    for match in pattern.finditer(text, 0, limit + 1):
        if 0 < match.end() <= limit and text[:match.end()].strip():
            cut = match.end()
    return cut
