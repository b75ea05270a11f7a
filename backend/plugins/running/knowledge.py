"""The curated Spanish texts for runners under data/running/knowledge/, kept in the backend's
knowledge table (and so in its FTS5 index) as the files say: added, updated, removed.

Each file's title is its first "# " heading; the body is the text under it, so the passage the
assistant quotes starts at the "## En breve" summary. SOURCES.md lists where the texts come from:
it is not advice, so it is not synced."""
from __future__ import annotations

from pathlib import Path


from backend.plugin_api import core, Database

KNOWLEDGE_DIR = Path(__file__).resolve().parents[3] / "data" / "running" / "knowledge"
SOURCE = "data/running/knowledge"  # knowledge.source of these rows; entries admins write are left alone
NOT_ADVICE = {"SOURCES.md"}


def load_knowledge(directory: Path) -> dict[str, str]:
    """{title: body} of each Markdown text in the directory, by file name."""
    entries = {}
    for path in sorted(directory.glob("*.md")):
        if path.name in NOT_ADVICE:
            continue
        first, _, body = path.read_text(encoding="utf-8").strip().partition("\n")
        if not first.startswith("# ") or not first[2:].strip():
            raise ValueError(f"{path.name}: la primera línea debe ser el título, «# Título»")
        entries[first[2:].strip()] = body.strip()
    return entries


def sync_knowledge(db: Database, directory: Path = KNOWLEDGE_DIR) -> int:
    entries = load_knowledge(directory) if directory.is_dir() else {}
    with core.transaction(db) as connection:
        core.replace_knowledge(connection, "running", SOURCE, entries)
    return len(entries)
