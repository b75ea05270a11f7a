"""Writing the knowledge texts (the searchable sections an open answer may quote); reading them is
backend/conversation.py's search_knowledge."""
from __future__ import annotations

from collections.abc import Mapping

from backend.store.database import Database, now


def replace_source(connection: Database, domain: str, source: str, entries: Mapping[str, str]) -> None:
    """The texts of one source (a shipped folder) become `entries` (title -> body): a changed one
    is written again (so its full-text row follows), a missing one removed. In the caller's transaction."""
    stored = dict(connection.execute("SELECT title, body FROM knowledge WHERE source = ?", (source,)))
    for title, body in entries.items():
        if stored.get(title) != body:
            connection.execute("DELETE FROM knowledge WHERE source = ? AND title = ?", (source, title))
            connection.execute("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, ?, ?)",
                               (domain, title, body, source, now()))
    for title in stored.keys() - entries.keys():
        connection.execute("DELETE FROM knowledge WHERE source = ? AND title = ?", (source, title))
