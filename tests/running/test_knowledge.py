"""The runners' knowledge texts: each file is short, titled and opens with its summary, and the
backend's knowledge table follows the folder (added, updated, removed) without touching what
admins wrote."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from admin.views.knowledge import ADMIN_SOURCE
from backend.conversation import search_knowledge
from backend.plugins.running.knowledge import KNOWLEDGE_DIR, SOURCE, load_knowledge, sync_knowledge

FILES = sorted(path for path in KNOWLEDGE_DIR.glob("*.md") if path.name != "SOURCES.md")
MAX_CHARS = 2500


def rows(db) -> dict[str, tuple[str, str]]:
    return {title: (domain, body) for title, domain, body in
            db.execute("SELECT title, domain, body FROM knowledge WHERE source = ?", [SOURCE])}


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_there_are_enough_texts_with_distinct_titles():
    titles = list(load_knowledge(KNOWLEDGE_DIR))
    assert len(FILES) >= 15 and len(titles) == len(FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_text_has_a_title_opens_with_its_summary_and_is_short(path):
    text = path.read_text(encoding="utf-8")
    assert len(text) <= MAX_CHARS, f"{path.name}: {len(text)} caracteres"
    first, _, body = text.strip().partition("\n")
    assert re.fullmatch(r"# \S.*", first), path.name
    headings = re.findall(r"^## (.+)$", body, re.MULTILINE)
    assert headings and headings[0] == "En breve", path.name
    summary = body.split("## En breve", 1)[1].split("\n## ", 1)[0].strip()
    assert summary and len(summary) <= 400, path.name  # what the assistant quotes first
    assert len(headings) >= 3 and "\n- " in body, path.name  # sections of short bullet points


def test_every_text_lists_its_sources():
    sources = (KNOWLEDGE_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for path in FILES:
        section = sources.split(f"## {path.name}\n", 1)
        assert len(section) == 2, path.name
        assert re.search(r"https?://\S+", section[1].split("\n## ", 1)[0]), path.name


def test_the_shipped_texts_sync_and_are_found(coach):
    assert sync_knowledge(coach.db) == len(FILES)
    stored = rows(coach.db)
    assert len(stored) == len(FILES) and {domain for domain, _ in stored.values()} == {"running"}
    assert all(body.startswith("## En breve") for _, body in stored.values())
    found = search_knowledge(coach.db, "running", "¿Cada cuántos kilómetros cambio mis zapatillas?")
    assert found and "zapatillas" in found[0]["titulo"].lower()


def test_the_table_follows_the_folder_and_leaves_admin_entries_alone(coach, tmp_path):
    db, folder = coach.db, tmp_path / "knowledge"
    folder.mkdir()
    admin_rows = [("running", "Alfa", "Lo escribió el equipo.", ADMIN_SOURCE),  # same title as a file
                  (None, "Ruta del club", "Salimos los sábados.", None)]
    for row in admin_rows:
        db.execute("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, ?, 0)", row)
    write(folder, "a.md", "# Alfa\n\n## En breve\nPrimero.\n")
    write(folder, "b.md", "# Beta\n\n## En breve\nSegundo.\n")
    write(folder, "SOURCES.md", "# Fuentes\n- x\n")

    assert sync_knowledge(db, folder) == 2
    assert rows(db) == {"Alfa": ("running", "## En breve\nPrimero."), "Beta": ("running", "## En breve\nSegundo.")}
    beta_id = db.execute("SELECT id FROM knowledge WHERE title = 'Beta'").fetchone()[0]

    write(folder, "a.md", "# Alfa\n\n## En breve\nPrimero, corregido.\n")
    (folder / "b.md").unlink()
    write(folder, "c.md", "# Gamma\n\n## En breve\nTercero.\n")
    assert sync_knowledge(db, folder) == 2
    assert rows(db) == {"Alfa": ("running", "## En breve\nPrimero, corregido."),
                        "Gamma": ("running", "## En breve\nTercero.")}
    assert db.execute("SELECT COUNT(*) FROM knowledge WHERE id = ?", [beta_id]).fetchone()[0] == 0
    assert search_knowledge(db, "running", "corregido")[0]["titulo"] == "Alfa"  # the FTS index follows
    assert search_knowledge(db, "running", "segundo") == []

    unchanged = db.execute("SELECT id, updated_at FROM knowledge WHERE title = 'Gamma'").fetchone()
    assert sync_knowledge(db, folder) == 2
    assert db.execute("SELECT id, updated_at FROM knowledge WHERE title = 'Gamma'").fetchone() == unchanged

    assert sync_knowledge(db, tmp_path / "missing") == 0  # no folder: the shipped rows go
    assert rows(db) == {}
    assert db.execute("SELECT domain, title, body, source FROM knowledge WHERE source IS DISTINCT FROM ? ORDER BY id",
                      [SOURCE]).fetchall() == admin_rows


def test_a_text_without_a_title_line_is_refused(tmp_path):
    write(tmp_path, "x.md", "## En breve\nSin título.\n")
    with pytest.raises(ValueError, match="x.md"):
        load_knowledge(tmp_path)
