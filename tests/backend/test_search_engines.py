"""Full-text recall and knowledge search find the same things on both engines: SQLite's FTS5 (our
folded stems as prefixes) and PostgreSQL's Spanish text search (the user's own words as prefixes,
stemmed by PostgreSQL). Run with CHASQUI_TEST_DATABASE=postgresql for the second."""
from __future__ import annotations

import pytest

from backend import conversation
from backend.store.database import open_database
from backend.store.migrations import migrate
from tests.databases import store_location


@pytest.fixture
def db(tmp_path):
    database = open_database(store_location(tmp_path / "chasqui.db"))
    migrate(database)
    for contact_id in (1, 2):
        database.insert("INSERT INTO contacts (phone, created_at, updated_at) VALUES (?, 0, 0)",
                        [f"+5198700000{contact_id}"])
    yield database
    database.close()


def said(db, contact_id: int, *bodies: str) -> list[int]:
    return [conversation.store_inbound(db, contact_id, body, None) for body in bodies]


def recalled(db, text: str, contact_id: int = 1, limit: int = 5) -> list[str]:
    return [m["texto"] for m in conversation.recall_messages(db, contact_id, text, set(), limit=limit)]


@pytest.mark.parametrize("stored, asked", [
    ("Ayer regué dos horas", "¿cuánto regar el maíz?"),   # regué, regar: one stem
    ("El riego por goteo", "¿Cuándo riegue?"),              # riego, riegue
    ("Sembré maíz amarillo", "mi maiz"),                    # the accent, either way
    ("Sembré maiz amarillo", "MAÍZ"),
    ("Hice estiramientos al terminar", "¿estiro antes?"),   # a prefix of the stem
    ("Hago estiro cada mañana", "los estiramientos"),
    ("Mi niño corre", "el NIÑO"),                           # ñ kept
])
def test_recall_finds_the_same_word_in_its_other_forms(db, stored, asked):
    said(db, 1, "hola", stored, "otra cosa")
    assert recalled(db, asked) == [stored]


def test_regue_and_riego_have_different_stems_on_both_engines(db):
    """Spanish stems "regué" as 'reg' and "riego" as 'rieg' (the diphthong): neither engine joins them,
    each finds its own neighbours."""
    said(db, 1, "Ayer regué dos horas", "El riego por goteo", "Lo regaré mañana")
    assert recalled(db, "regué") == ["Ayer regué dos horas", "Lo regaré mañana"]  # the same word first
    assert recalled(db, "riego") == ["El riego por goteo"]


def test_recall_stays_within_the_contact_newest_first_and_skips_what_it_is_told(db):
    older, newer = said(db, 1, "mi rodilla duele", "la rodilla mejor")
    said(db, 2, "rodilla de otro")
    assert recalled(db, "¿qué te dije de mi rodilla?") == ["la rodilla mejor", "mi rodilla duele"]
    assert [m["texto"] for m in conversation.recall_messages(db, 1, "rodilla", {newer})] == ["mi rodilla duele"]
    assert recalled(db, "rodilla", contact_id=2) == ["rodilla de otro"]


def test_recall_ranks_by_shared_words_and_lets_no_query_syntax_through(db):
    said(db, 1, "rodilla y tobillo", "rodilla", "tobillo")
    assert recalled(db, "rodilla tobillo")[0] == "rodilla y tobillo"
    for text in ('"', "a:* | !b", "rodilla' OR 1=1 --", "(cadera) & <->", "NEAR(x y)", "*", "k1", "2024", "de la y"):
        conversation.recall_messages(db, 1, text, set())  # never an error
    assert recalled(db, "rodilla:* & !tobillo") == recalled(db, "rodilla tobillo")  # only the words count
    assert recalled(db, "de la y 2024") == []  # nothing meaningful to look for


def test_knowledge_search_ranks_by_the_words_and_keeps_to_the_domain(db):
    for domain, title, body in (("agro", "Riego del maíz", "El maíz necesita unos 25 mm por semana en floración."),
                                ("agro", "Heladas", "Cubre las plantas antes del amanecer."),
                                (None, "Horario", "Atendemos de lunes a viernes."),
                                ("running", "Estiramientos", "Estira después de correr, no antes.")):
        db.insert("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, 'seed', 0)",
                  [domain, title, body])
    titles = lambda domain, text: [k["titulo"] for k in conversation.search_knowledge(db, domain, text)]  # noqa: E731
    assert titles("agro", "¿cuándo riego el maiz en floracion?") == ["Riego del maíz"]
    assert titles("agro", "helada") == ["Heladas"]
    assert titles("agro", "horarios") == ["Horario"]  # an entry for every domain
    assert titles("agro", "estiro") == [] and titles("running", "¿me estiro?") == ["Estiramientos"]
    assert sorted(titles("agro", "maíz plantas")) == ["Heladas", "Riego del maíz"]  # either word
    assert titles("agro", "!' | &") == []
