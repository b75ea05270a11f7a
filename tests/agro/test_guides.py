"""The crop-care guides (frost, manure, irrigation hours...): each file is short, titled, opens with
the summary the assistant quotes and lists its sources; the knowledge table holds them next to the
pest texts, and each folder's rows follow only that folder."""
from __future__ import annotations

import re
import shutil

import pytest

from admin.views.knowledge import ADMIN_SOURCE
from backend.agent.answering import best_passage
from backend.conversation import search_knowledge
from backend.plugins.agro.knowledge import FOLDERS, GUIDES_DIR, GUIDES_SOURCE, KNOWLEDGE_DIR, SOURCE, sync_knowledge
from backend.plugins.agro.pests import PESTS, load_knowledge, parse_knowledge

GUIDES = sorted(path for path in GUIDES_DIR.glob("*.md") if path.name != "SOURCES.md")
MAX_CHARS = 2200


def rows(db, source: str) -> dict[str, tuple[str, str]]:
    return {title: (domain, body) for title, domain, body in
            db.execute("SELECT title, domain, body FROM knowledge WHERE source = ?", [source])}


def test_there_are_enough_guides_with_distinct_titles():
    titles = [title for title, _ in load_knowledge(GUIDES_DIR)]
    assert len(GUIDES) >= 8 and len(titles) == len(set(titles)) == len(GUIDES)
    pest_titles = {title for title, _ in load_knowledge(KNOWLEDGE_DIR)}
    assert not pest_titles & set(titles)


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.stem)
def test_a_guide_has_a_title_opens_with_its_summary_and_is_short(path):
    text = path.read_text(encoding="utf-8")
    assert len(text) <= MAX_CHARS, f"{path.name}: {len(text)} caracteres"
    first, _, body = text.strip().partition("\n")
    assert re.fullmatch(r"# \S.*", first), path.name
    body = body.strip()
    assert body.startswith("## En breve\n"), path.name
    headings = re.findall(r"^## (.+)$", body, re.MULTILINE)
    assert headings[0] == "En breve" and len(headings) >= 3, path.name
    summary = body.split("## En breve", 1)[1].split("\n## ", 1)[0].strip()
    assert summary and "\n" not in summary and len(summary) <= 400, path.name  # what the assistant quotes first
    assert 1 <= len(re.findall(r"[.!?](?:\s|$)", summary)) <= 2, path.name  # one or two sentences
    assert "\n- " in body, path.name  # sections of short bullet points
    assert not re.search(r"\b(tú|tu|tus|puedes|tienes|debes)\b", text, re.IGNORECASE), path.name  # «usted»


def test_every_guide_lists_its_sources():
    sources = (GUIDES_DIR / "SOURCES.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^## (\S+\.md)$", sources, re.MULTILINE))
    assert listed == {path.name for path in GUIDES}
    for path in GUIDES:
        section = sources.split(f"## {path.name}\n", 1)[1].split("\n## ", 1)[0]
        assert len(re.findall(r"https?://\S+", section)) >= 2, path.name


def test_the_backend_syncs_the_guides_next_to_the_pest_texts(farm):
    guides, pests = rows(farm.db, GUIDES_SOURCE), rows(farm.db, SOURCE)  # synced when the app started
    assert len(guides) == len(GUIDES) and len(pests) == len(PESTS) == 16
    assert {domain for domain, _ in [*guides.values(), *pests.values()]} == {"agro"}
    assert all(body.startswith("## En breve") for _, body in guides.values())
    assert sync_knowledge(farm.db) == len(GUIDES) + len(PESTS)


@pytest.mark.parametrize("question, title_word", [
    ("¿Cómo protejo mi chacra de la helada?", "heladas"),
    ("¿Qué abono le echo al maíz?", "abonamiento"),
    ("¿Riego de día o de noche?", "riego"),
])
def test_an_open_question_finds_the_summary_of_its_guide(farm, question, title_word):
    passage = best_passage(search_knowledge(farm.db, "agro", question, limit=3, chars=4000), question)
    assert passage and title_word in passage["titulo"].lower()
    guide = next(body for title, (_, body) in rows(farm.db, GUIDES_SOURCE).items() if title == passage["titulo"])
    summary = guide.split("## En breve", 1)[1].split("\n## ", 1)[0].strip()
    assert passage["texto"].rstrip("…")[:100] == " ".join(summary.split())[:100]


def test_each_folder_follows_its_files_and_leaves_the_other_and_admin_rows_alone(farm, tmp_path):
    db, folder = farm.db, tmp_path / "guides"
    shutil.copytree(GUIDES_DIR, folder)
    admin_rows = [("agro", "Heladas en Huaral", "Lo escribió el equipo.", ADMIN_SOURCE),
                  (None, "Horario del local", "Lunes.", None)]
    for row in admin_rows:
        db.execute("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, ?, 0)", row)
    folders = {SOURCE: KNOWLEDGE_DIR, GUIDES_SOURCE: folder}
    assert sync_knowledge(db, folders) == len(GUIDES) + len(PESTS)
    pests_before = db.execute("SELECT id, title, updated_at FROM knowledge WHERE source = ? ORDER BY id",
                              [SOURCE]).fetchall()
    kept = {title: row for title, *row in db.execute(
        "SELECT title, id, updated_at FROM knowledge WHERE source = ?", [GUIDES_SOURCE])}

    removed = folder / "malezas.md"
    removed_title, _ = parse_knowledge(removed.read_text(encoding="utf-8"))
    removed.unlink()
    assert sync_knowledge(db, folders) == len(GUIDES) - 1 + len(PESTS)
    guides = rows(db, GUIDES_SOURCE)
    assert removed_title not in guides and set(guides) == set(kept) - {removed_title}
    assert {title: row for title, *row in db.execute(
        "SELECT title, id, updated_at FROM knowledge WHERE source = ?", [GUIDES_SOURCE])} == \
        {title: row for title, row in kept.items() if title != removed_title}  # the others are not rewritten
    assert search_knowledge(db, "agro", "coquito") == []  # the FTS index follows

    text = (folder / "heladas.md").read_text(encoding="utf-8")
    (folder / "heladas.md").write_text(text.replace("## En breve\n", "## En breve\nRevisado. "), encoding="utf-8")
    sync_knowledge(db, folders)
    title = text.split("\n", 1)[0][2:]
    assert rows(db, GUIDES_SOURCE)[title][1].startswith("## En breve\nRevisado. ")

    assert sync_knowledge(db, {GUIDES_SOURCE: tmp_path / "missing"}) == 0  # no guides folder: only its rows go
    assert rows(db, GUIDES_SOURCE) == {}
    assert db.execute("SELECT id, title, updated_at FROM knowledge WHERE source = ? ORDER BY id",
                      [SOURCE]).fetchall() == pests_before
    assert db.execute("SELECT domain, title, body, source FROM knowledge WHERE source IS NULL OR source = ? "
                      "ORDER BY id", [ADMIN_SOURCE]).fetchall() == admin_rows

    assert sync_knowledge(db, FOLDERS) == len(GUIDES) + len(PESTS)  # the shipped guides come back
    assert len(rows(db, GUIDES_SOURCE)) == len(GUIDES)


def test_a_malformed_guide_changes_nothing(farm, tmp_path):
    folder = tmp_path / "guides"
    shutil.copytree(GUIDES_DIR, folder)
    (folder / "heladas.md").write_text("## En breve\nSin título.\n", encoding="utf-8")
    before = rows(farm.db, GUIDES_SOURCE)
    with pytest.raises(ValueError, match="heladas.md"):
        sync_knowledge(farm.db, {SOURCE: KNOWLEDGE_DIR, GUIDES_SOURCE: folder})
    assert rows(farm.db, GUIDES_SOURCE) == before
