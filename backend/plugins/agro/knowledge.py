"""The curated Spanish pest and disease texts under data/agro/knowledge/, kept in the backend's
knowledge table (and so in its FTS5 index) as the files say: added, updated, removed."""
from __future__ import annotations

from pathlib import Path

import sqlite_utils

from backend.plugins.agro.pests import load_knowledge
from backend.store.database import now, transaction

KNOWLEDGE_DIR = Path(__file__).resolve().parents[3] / "data" / "agro" / "knowledge"
SOURCE = "data/agro/knowledge"  # knowledge.source of these rows; entries admins write are left alone


def sync_knowledge(db: sqlite_utils.Database, directory: Path = KNOWLEDGE_DIR) -> int:
    entries = dict(load_knowledge(directory)) if directory.is_dir() else {}
    with transaction(db) as connection:
        stored = dict(connection.execute("SELECT title, body FROM knowledge WHERE source = ?", (SOURCE,)))
        for title, body in entries.items():
            if stored.get(title) != body:
                connection.execute("DELETE FROM knowledge WHERE source = ? AND title = ?", (SOURCE, title))
                connection.execute("INSERT INTO knowledge (domain, title, body, source, updated_at) "
                                   "VALUES ('agro', ?, ?, ?, ?)", (title, body, SOURCE, now()))
        for title in stored.keys() - entries.keys():
            connection.execute("DELETE FROM knowledge WHERE source = ? AND title = ?", (SOURCE, title))
    return len(entries)
