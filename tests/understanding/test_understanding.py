"""The understanding layer: a message read once (folding, WhatsApp abbreviations, number words,
typos), placed by the matcher or, only when it scores low, by a classification call; and the
labelled set's figures held above a floor on the part nobody tunes on."""
from __future__ import annotations

import pytest

from backend.plugins.registry import load_plugins
from backend.understanding.reading import read
from backend.understanding.understand import Understanding
from tests.understanding.labelled import load, score_matcher


@pytest.fixture(scope="module")
def plugins():
    return load_plugins(("agro", "running"))


@pytest.fixture(scope="module")
def understanding(plugins):
    return Understanding(plugins)


@pytest.mark.parametrize("text, normalized", [
    ("Corrí DIEZ kilómetros en cincuenta y cinco minutos", "corri 10 km en 55 min"),
    ("q ritmo xfa", "que ritmo porfavor"),
    ("regué media hora", "regue 30 min"),
    ("una hora y media", "1.5 horas"),
    ("hoy 15 kms en una hora y cuarto", "hoy 15 km en 75 min"),
    ("sali 10km", "sali 10 km"),
    ("quiero un 10 k", "quiero un 10k"),
    ("corrí 10 kilómetros en 50 y 5 minutos", "corri 10 km en 55 min"),  # as Whisper writes a voice note
    ("entre 2 y 3 horas", "entre 2 y 3 horas"),
])
def test_number_words_and_abbreviations_are_read_as_digits_and_words(text, normalized):
    assert read(text).normalized == normalized


def test_typos_are_corrected_against_the_examples_vocabulary(understanding):
    reading = understanding.read("cuamdo rieggo mi maiz", "agro")
    assert reading.words == ("cuando", "riego", "mi", "maiz")
    assert understanding.read("me duele la rodia", "running").corrected.endswith("rodilla")


def test_a_greeting_before_a_question_is_noted_and_left_out_of_the_match(understanding):
    reading = understanding.read("Hola buenas tardes, cuando riego?", "agro")
    assert reading.greeted and reading.is_question and "hola" not in reading.words


def test_entity_names_become_placeholders_for_the_matcher_only(understanding):
    reading = understanding.read("como controlo la rancha en mi papa", "agro")
    assert {"zplag", "zcultiv"} <= set(reading.stems)
    assert "rancha" in reading.normalized  # the slot readers still see the name


def test_the_model_is_asked_only_when_the_matcher_has_no_guess(understanding, plugins):
    calls = []

    def ask(system, context, schema, max_tokens):
        calls.append(schema["properties"]["intencion"]["enum"])
        return {"intencion": calls[-1][0]}
    confident = understanding.read("a que ritmo hago el tempo", "running")
    understanding.place(confident, plugins["running"], None, ask)
    assert (confident.intent, confident.via, calls) == ("ritmo_umbral", "matcher", [])
    unknown = understanding.read("zzz xyz", "running")  # no candidate at all: an open question, no call
    placed = understanding.place(unknown, plugins["running"], None, ask)
    assert (unknown.via, placed.intent.name, calls) == ("unmatched", "pregunta_abierta", [])
    # sharing almost nothing with every intent (best 0.21): an open question, no call either
    unrelated = understanding.read("ayer no pude salir, el trabajo me mato", "running")
    placed = understanding.place(unrelated, plugins["running"], None, ask)
    assert (unrelated.via, placed.intent.name, calls) == ("unmatched", "pregunta_abierta", [])
    weak = understanding.read("mucho cansancio, que hago con el entreno", "running")
    understanding.place(weak, plugins["running"], None, ask)
    assert weak.via == "model" and calls[-1][-1] == "pregunta_abierta" and len(calls[-1]) == 3


@pytest.mark.parametrize("text, domain", [
    ("cada cuanto deshierbo", "agro"),  # «cada cuánto riego» shares two of its three words
    ("es mejor correr en la mañana o en la noche", "running"),  # the morning, not tomorrow
    ("como se que semilla es buena", "agro"),  # «buena» is no «buenas tardes» in a question
    ("porque mi choclo sale con pocos granos", "agro"),  # a reason: no computed fact gives one
])
def test_open_questions_that_share_words_with_a_fact_stay_open(understanding, plugins, text, domain):
    reading = understanding.read(text, domain)
    placed = understanding.place(reading, plugins[domain], None, None)
    assert placed.intent.name == "pregunta_abierta", (reading.via, reading.intent)


def test_the_morning_is_not_tomorrow_but_tomorrow_morning_is(understanding, plugins):
    for text in ("que toca mañana en la mañana", "q hago mañana"):
        reading = understanding.read(text, "running")
        assert understanding.place(reading, plugins["running"], None, None).intent.name == "sesion_manana", text


def test_a_question_with_figures_is_not_taken_for_a_run_to_log(understanding, plugins):
    from tests.understanding.labelled import ANYONE
    reading = understanding.read("¿a cuánto hago el km en el tempo de 20 min?", "running")
    understanding.place(reading, plugins["running"], None, None, plugins["running"].detect(reading, ANYONE))
    assert reading.via != "detector"  # at most the matcher's guess: then the orchestrator asks first
    statement = understanding.read("ya llegue, fueron 9 km en 50:15", "running")
    understanding.place(statement, plugins["running"], None, None, plugins["running"].detect(statement, ANYONE))
    assert (statement.intent, statement.via) == ("registrar_carrera", "detector")


def test_the_held_out_part_stays_above_its_floor(understanding, plugins):
    """Code alone on the test part (never tuned on). The figures at the time of writing were 91.1 %
    intent, 98.1 % on confident placements, 93.6 % slots (README); a change that loses more than a
    few points fails here."""
    everything, confident = score_matcher(understanding, plugins, load("test"))
    assert everything.intents >= 440 and everything.slots >= 100
    assert everything.intent_accuracy >= 0.88
    assert confident.intent_accuracy >= 0.95 and confident.intents >= 0.75 * everything.intents
    assert everything.slot_accuracy >= 0.9
    # open questions stay open (a fact or a change read into one answers what was not asked): 94.6 %
    open_questions, _ = score_matcher(understanding, plugins, [row for row in load("test")
                                                               if row["intent"] == "pregunta_abierta"])
    assert open_questions.intents >= 50 and open_questions.intent_accuracy >= 0.9


@pytest.mark.parametrize("text, clauses", [
    ("cuando riego y cuanta agua queda en el suelo", ["cuando riego", "cuanta agua queda en el suelo"]),
    ("¿En qué etapa está mi maíz? ¿Y cuándo riego?", ["en que etapa esta mi maiz?", "cuando riego?"]),
    ("cuanto corri esta semana, y cual es mi vdot?", ["cuanto corri esta semana", "cual es mi vdot?"]),
    ("buenas, soy corredor, cuanto haria en una media", ["buenas, soy corredor", "cuanto haria en una media"]),
    ("cuando riego mi maiz y mi papa", ["cuando riego mi maiz y mi papa"]),  # one question, two crops
])
def test_a_message_is_cut_where_another_question_starts(text, clauses):
    from backend.understanding.reading import question_clauses
    assert question_clauses(text) == clauses


def test_several_fact_questions_are_placed_one_by_one_and_only_when_all_are_sure(understanding):
    asked, whole = understanding.fact_questions("como controlo la rancha y cuando riego", "agro")
    assert [intent.name for intent, _ in asked] == ["plaga_info", "cuando_regar"] and whole
    asked, whole = understanding.fact_questions("cuando riego y que opinas de la vida", "agro")
    assert [intent.name for intent, _ in asked] == ["cuando_regar"] and not whole
    asked, whole = understanding.fact_questions("cuando riego y cuanta agua le echo", "agro")
    assert [intent.name for intent, _ in asked] == ["cuando_regar"] and whole  # the same fact twice: once
    assert understanding.fact_questions("cuando riego", "agro") == ([], False)  # one part: placed as a whole
