"""Writing the knowledge texts (the searchable sections an open answer may quote); reading them is
backend/conversation.py's search_knowledge. The one writer of knowledge rows: shipped folders, the
panel and an officer's review of a rating all add them here."""
from __future__ import annotations

from collections.abc import Mapping

from backend.store.database import Database, now


def add_entry(connection: Database, domain: str | None, title: str, body: str, source: str) -> int:
    """One text (domain None: every domain), its full-text row kept by the database; returns its id."""
    return connection.insert("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, ?, ?)",
                             (domain, title, body, source, now()))


def replace_source(connection: Database, domain: str, source: str, entries: Mapping[str, str]) -> None:
    """The texts of one source (a shipped folder) become `entries` (title -> body): a changed one
    is written again (so its full-text row follows), a missing one removed. In the caller's transaction."""
    stored = dict(connection.execute("SELECT title, body FROM knowledge WHERE source = ?", (source,)))
    for title, body in entries.items():
        if stored.get(title) != body:
            connection.execute("DELETE FROM knowledge WHERE source = ? AND title = ?", (source, title))
            add_entry(connection, domain, title, body, source)
    for title in stored.keys() - entries.keys():
        connection.execute("DELETE FROM knowledge WHERE source = ? AND title = ?", (source, title))
