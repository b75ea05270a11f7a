"""Searching messages from the panel with the messages_fts index (FTS5, unicode61 with diacritics
removed: "maiz" finds "maíz", "MAIZ" too).

Every word must appear (AND, not the OR of the bot's recall), each as typed, quoted so no FTS
syntax gets through; a word ending in * is a prefix ("rieg*" finds riego, riegos, riegue). Within
one conversation the query also names the contact's token (`contact : k12`, as
backend/conversation.py's recall does): FTS5 intersects with that contact's short doclist.
Results come newest first (ORDER BY rowid DESC, which FTS5 walks without sorting) and page by
rowid, so a word in ~20% of a million messages is a 12 ms page, a prefix 22 ms, not a ranking of
all (bench/admin_lists.py)."""
from __future__ import annotations

import re

MAX_WORDS = 8
HIT_START, HIT_END = "\ue000", "\ue001"  # private-use characters around each hit in a snippet
SNIPPET_TOKENS = 16
_WORD = re.compile(r"\w+\*?")


def words_query(text: str) -> str | None:
    """Every word of a search box's text, quoted, ANDed (also for knowledge_fts); None: no word."""
    words = _WORD.findall(text or "")[:MAX_WORDS]
    if not words:
        return None
    return " AND ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") else "") for w in words)


def match_query(text: str, contact_id: int | None = None) -> str | None:
    """The MATCH expression over messages_fts; None when the text has no word to look for."""
    words = words_query(text)
    if words is None:
        return None
    query = f"body : ({words})"
    return query if contact_id is None else f"contact : k{int(contact_id)} AND {query}"


SELECT_HITS = (
    "SELECT m.id AS id, m.contact_id, m.direction, m.source, m.created_at, c.phone, c.name, "
    f"snippet(messages_fts, 0, '{HIT_START}', '{HIT_END}', '…', {SNIPPET_TOKENS}) AS snippet "
    "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN contacts c ON c.id = m.contact_id")
WHERE_MATCH = "messages_fts MATCH ?"
KEYSET_COLUMN = "messages_fts.rowid"


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as (text, is_a_hit) pieces: the template escapes each and marks the hits."""
    parts, hit = [], False
    for piece in re.split(f"([{HIT_START}{HIT_END}])", snippet or ""):
        if piece == HIT_START:
            hit = True
        elif piece == HIT_END:
            hit = False
        elif piece:
            parts.append((piece, hit))
    return parts


