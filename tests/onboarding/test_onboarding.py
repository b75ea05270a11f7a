"""Onboarding that asks only what the first answer needs, on the real backend (its SQLite file, or
its PostgreSQL database: tests/databases.py; every domain on as `./dev up` runs it) with the model
API unreachable: onboarding never needs it.
The openings in data/openings.json are played by bench/onboarding.py; the split "test" was
written with the rest and never tuned on."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.onboarding import backend_for_bench, play_all, summary
from tests.databases import database_url_for

AUTH = {"Authorization": "Bearer bench-token"}
PHONE = "+51911222333"


@contextmanager
def bench_store(folder: Path):
    """bench/onboarding.py's backend opens the SQLite file in `folder`; with CHASQUI_TEST_DATABASE=
    postgresql, the database standing for it, and the weather cache (in CHASQUI_HOME there) in `folder`."""
    with pytest.MonkeyPatch.context() as patch:
        url = database_url_for(folder / "chasqui.db")
        if url:
            patch.setenv("BACKEND_DATABASE_URL", url)
            patch.setenv("CHASQUI_HOME", str(folder))
        yield


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    with bench_store(tmp_path_factory.mktemp("bench")):
        return play_all()


@pytest.mark.parametrize("split", ["dev", "test"])
def test_the_openings_reach_a_useful_answer_within_three_messages_and_are_read_right(played, split):
    figures = summary([p for p in played if p.persona["split"] == split])
    assert figures["never_answered"] == 0
    assert figures["median_messages"] <= 3 and figures["max_messages"] <= 4, figures
    assert figures["domain_right"] >= 0.95 and figures["fields_right"] >= 0.95, figures


@pytest.fixture
def stack(tmp_path):
    with bench_store(tmp_path):
        yield from _stack(tmp_path)


def _stack(tmp_path):
    app, weather = backend_for_bench(tmp_path)
    client, db = app.test_client(), app.extensions["chasqui_store"].db

    def say(text: str, **extra) -> dict:
        response = client.post("/agent", json={"phone": PHONE, "message": text, **extra}, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json

    def contact() -> tuple:
        row = db.execute("SELECT c.domain, c.onboarding_step, p.data, p.sources, c.name FROM contacts c "
                         "LEFT JOIN profiles p ON p.contact_id = c.id WHERE c.phone = ?", [PHONE]).fetchone()
        return row[0], row[1], json.loads(row[2] or "{}"), json.loads(row[3] or "{}"), row[4]
    yield say, contact, db
    weather.stop()


def text(reply: dict) -> str:
    return reply["model_output"]["respuesta_chat"]


def test_the_first_message_picks_the_domain_fills_what_it_says_and_its_question_is_answered(stack):
    say, contact, _ = stack
    first = say("Hola, tengo papa en Huancayo, ¿cuándo riego?", name="Rosa Quispe")
    assert first["source"] == "onboarding" and "papa" in text(first) and "Huancayo" in text(first)
    assert "¿Cuándo sembraste?" in text(first)
    answered = say("hace 2 meses")
    assert answered["source"] == "code" and "riego" in text(answered) and " mm" in text(answered)
    assert "Supuse" in text(answered) and "suelo franco" in text(answered)  # the defaults are said
    domain, step, profile, sources, name = contact()
    assert (domain, name, profile["cultivo"], profile["ubicacion"]["place"]) == ("agro", "Rosa Quispe", "papa", "Huancayo")
    assert sources["cultivo"] == sources["fecha_siembra"] == "answered" and sources["suelo"] == "default"


def test_several_answers_in_one_message_fill_several_fields(stack):
    say, contact, _ = stack
    say("agricultura")
    reply = say("papa canchán, 2 ha, sembré el 15 de setiembre, riego por aspersión, en Huancayo")
    assert reply["source"] == "code"
    _, _, profile, sources, _ = contact()
    assert profile["variedad"].lower() == "canchán" and profile["area_ha"] == 2.0
    assert profile["fecha_siembra"].endswith("-09-15") and profile["riego"]["method"] == "aspersion"
    assert sources["riego"] == "answered"


def test_a_vague_answer_gets_examples_and_no_se_is_always_accepted(stack):
    say, contact, _ = stack
    say("tengo maíz")
    vague = say("por acá")
    assert vague["source"] == "onboarding" and "Huancayo" in text(vague) and "ubicación" in text(vague)
    say("en Chancay")
    again = say("hace poco")
    assert again["source"] == "onboarding" and "hace 2 meses" in text(again) and "no sé" in text(again)
    done = say("no sé")
    assert done["source"] == "code" and "Supuse sembrado el" in text(done)
    _, step, profile, sources, _ = contact()
    assert sources["fecha_siembra"] == "default" and "fecha_siembra" in profile


def test_the_irrigation_rate_is_asked_once_after_the_first_answer_and_then_gives_hours(stack):
    say, contact, db = stack
    say("maíz, Huaral")
    first = say("hace 2 meses")
    assert "¿Cómo es tu suelo y cómo riegas" in text(first)
    assert "horas" not in text(first).split("¿Cómo es tu suelo")[0]  # no rate yet: millimetres only
    assert contact()[1] == "later:riego"
    later = say("suelo arcilloso, goteo 4 mm/h")
    assert text(later).startswith("Anoté: suelo arcilloso y riego por goteo") and "hora" in text(later)
    assert db.execute("SELECT soil, method, rate_mm_h FROM agro_plots").fetchone() == ("arcilloso", "goteo", 4.0)
    assert contact()[3]["suelo"] == contact()[3]["riego"] == "answered"
    assert contact()[1] is None
    other = say("¿Cuándo riego?")
    assert "cómo riegas" not in text(other)  # asked once


def test_a_question_instead_of_the_later_answer_is_answered_and_not_asked_again(stack):
    say, contact, _ = stack
    say("tengo papa en Huaral, sembré hace 2 meses")
    assert contact()[1] == "later:riego"
    reply = say("¿qué es la rancha?")
    assert reply["source"] != "onboarding" and contact()[1] is None
    assert contact()[2]["riego"]["method"] == "gravedad"  # still the stated default


def test_a_runner_needs_the_goal_and_a_result_and_gets_paces_then_runs_per_week_are_asked(stack):
    say, contact, _ = stack
    first = say("quiero bajar de 25 minutos en 5K")
    assert first["source"] == "onboarding" and "marca reciente" in text(first)
    paces = say("corrí 5k en 27:30 el mes pasado")
    assert paces["source"] == "code" and "VDOT" in text(paces) and "/km" in text(paces)
    assert "¿Cuántos días por semana" in text(paces)
    plan = say("4")
    assert text(plan).startswith("Anoté: 4 días por semana")
    _, step, profile, sources, _ = contact()
    assert profile["objetivo"] == "5K" and profile["marca"]["race"] == "5K" and profile["carreras_por_semana"] == 4
    assert sources["carreras_por_semana"] == "answered" and sources["lesiones"] == "default"


def test_a_runner_without_a_result_says_no_se_and_still_gets_an_answer(stack):
    say, contact, _ = stack
    say("Hola, me preparo para la maratón de Lima")
    reply = say("no sé")
    assert reply["source"] == "code"
    assert contact()[2]["objetivo"] == "marathon" and contact()[3].get("marca") == "unknown"


def test_a_runner_changes_runs_per_week_whenever_and_can_undo_it(stack):
    say, contact, _ = stack
    say("10K; hice 5K en 24:10")
    say("no sé")  # the runs-per-week question: the default stays
    assert contact()[2]["carreras_por_semana"] == 3
    asked = say("ahora corro 5 días")
    assert "¿Cambio tu plan a 5 días por semana?" in text(asked)
    assert "5 días" in text(say("sí")) and contact()[2]["carreras_por_semana"] == 5
    say("deshacer")
    assert contact()[2]["carreras_por_semana"] == 3


def test_a_producer_changes_the_soil_whenever(stack):
    say, contact, db = stack
    say("papa en Huaral, sembré hace 1 mes, riego por goteo 4 mm/h")
    asked = say("cambia mi suelo a arcilloso")
    assert "arcilloso" in text(asked) and "?" in text(asked)
    say("sí")
    assert db.execute("SELECT soil FROM agro_plots").fetchone()[0] == "arcilloso"
    assert contact()[3]["suelo"] == "answered"


def test_a_location_message_answers_the_place_exactly(stack):
    say, contact, _ = stack
    say("tengo quinua")
    say("📍 -12.0651, -75.2049 (Chilca)")  # how the bridge passes a WhatsApp location
    place = contact()[2]["ubicacion"]
    assert (place["latitude"], place["longitude"]) == (-12.0651, -75.2049)


def test_the_domain_question_offers_its_options_and_a_number_answers_it(stack):
    say, contact, _ = stack
    first = say("Hola")
    assert first["opciones"] == ["agricultura", "running", "notas"]
    second = say("2")
    assert contact()[0] == "running" and "objetivo" in text(second)
    dont_know = say("no sé")
    assert dont_know["source"] == "onboarding"  # never a dead end: the result is asked, «no sé» is offered


def test_the_admin_sees_what_was_answered_and_what_is_still_a_default(tmp_path):
    from admin.users import create_user
    from tests.admin.conftest import PASSWORD, USERNAME, csrf_token

    with bench_store(tmp_path):
        app, weather = backend_for_bench(tmp_path)
        try:
            client = app.test_client()
            client.post("/agent", json={"phone": PHONE, "message": "papa en Huaral, sembré hace 1 mes"}, headers=AUTH)
            create_user(app.extensions["chasqui_store"].db, USERNAME, PASSWORD)
            token = csrf_token(client.get("/admin/login").text)
            client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
            contact_id = app.extensions["chasqui_store"].db.execute("SELECT id FROM contacts").fetchone()[0]
            page = client.get(f"/admin/contacts/{contact_id}").text
            table = page[page.index('id="profile-sources"'):page.index("</table>", page.index('id="profile-sources"'))]
            rows = {row.split("<td>")[1].split("</td>")[0]: row for row in table.split("<tr>")[2:]}
            assert "respondido" in rows["cultivo"] and "por defecto, sin confirmar" in rows["suelo"]
        finally:
            weather.stop()


def test_a_change_waiting_for_its_yes_offers_si_and_no(stack):
    say, contact, _ = stack
    say("10K; hice 5K en 24:10")
    say("no sé")
    asked = say("ahora corro 5 días")
    assert asked["opciones"] == ["sí", "no"]
    assert "opciones" not in say("no")  # answered: nothing offered
