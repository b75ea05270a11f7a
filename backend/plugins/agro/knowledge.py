"""The curated Spanish texts of the agro plug-in, kept in the backend's knowledge table (and so in
its FTS5 index) as the files say: added, updated, removed. Two folders, each with its own
knowledge.source so neither ever deletes the other's rows: the pest and disease texts under
data/agro/knowledge/ and the crop-care guides under data/agro/guides/ (frost, manure, irrigation
hours...; each opens with an "## En breve" summary, the passage the assistant quotes first).
Entries admins write carry another source and are left alone."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


from backend.plugin_api import core, Database
from backend.plugins.agro.pests import load_knowledge

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "agro"
KNOWLEDGE_DIR = DATA_DIR / "knowledge"
GUIDES_DIR = DATA_DIR / "guides"
SOURCE = "data/agro/knowledge"  # knowledge.source of the pest texts
GUIDES_SOURCE = "data/agro/guides"  # knowledge.source of the guides
FOLDERS = {SOURCE: KNOWLEDGE_DIR, GUIDES_SOURCE: GUIDES_DIR}


def sync_knowledge(db: Database, folders: Mapping[str, Path] = FOLDERS) -> int:
    """Each folder's rows follow its *.md files; a missing folder removes its rows. Every file
    is parsed before anything is written, so a malformed one changes nothing. Returns how many
    texts the folders hold."""
    wanted = {source: dict(load_knowledge(directory)) if directory.is_dir() else {}
              for source, directory in folders.items()}
    with core.transaction(db) as connection:
        for source, entries in wanted.items():
            core.replace_knowledge(connection, "agro", source, entries)
    return sum(len(entries) for entries in wanted.values())
