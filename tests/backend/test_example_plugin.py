"""The example plug-in (backend/plugins/example.py) shows every hook a plug-in can declare: each is
exercised here through the backend, on SQLite and on PostgreSQL (CHASQUI_TEST_DATABASE)."""
from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest

from admin.users import create_user
from backend.agent.voice import speech_prompt
from backend.contacts import find_contact
from backend.conversation import search_knowledge
from backend.plugins import example
from backend.plugins.example import PLUGIN
from backend.spanish import day_name
from tests.admin.conftest import PASSWORD, USERNAME, csrf_token
from tests.backend.conftest import AUTH, plugin_backend

PHONE = "+51987000021"


@pytest.fixture
def notes(tmp_path, model):
    """The backend with the example plug-in only, its scheduler stopped: the tests run its job."""
    backend = plugin_backend(tmp_path, model.url, "example")
    backend.onboard(PHONE)
    return backend


def reply(backend, text: str) -> str:
    return backend.say(PHONE, text)["model_output"]["respuesta_chat"]


def today(backend):
    return find_contact(backend.db, PHONE).local_today()


def test_its_own_table_is_made_by_its_migrations_and_its_texts_by_on_start(notes):
    assert notes.count("example_reminders") == 0
    assert notes.db.execute("SELECT version, name FROM plugin_migrations WHERE plugin = 'example'").fetchall() == \
        [(1, "reminders")]
    found = search_knowledge(notes.db, "example", "¿cómo pago la luz con un recordatorio?")
    assert [k["titulo"] for k in found] == ["Recordatorios"]
    PLUGIN.on_start(notes.db)  # at every start: the texts are kept, not added twice
    assert notes.db.execute("SELECT COUNT(*) FROM knowledge WHERE source = ?",
                            [example.KNOWLEDGE_SOURCE]).fetchone()[0] == 1


def test_onboarding_reads_the_city_from_any_message_and_the_signals_pick_the_domain(make_backend):
    backend = make_backend(plugins=("agro", "example"))  # two domains: the first message must say which
    first = backend.say(PHONE, "Hola, soy de Cusco y quiero guardar notas")["model_output"]["respuesta_chat"]
    assert "Anoté: vives en Cusco." in first and "¿Cómo te llamas?" in first  # find, describe, asks_name
    assert "Listo, Rosa" in backend.say(PHONE, "Rosa")["model_output"]["respuesta_chat"]
    contact = find_contact(backend.db, PHONE)
    assert (contact.domain, contact.profile) == ("example", {"ciudad": "Cusco"})


def test_a_note_runs_at_once_is_read_back_and_undone(notes):
    assert reply(notes, "anota: comprar semillas").startswith("Guardé tu nota: comprar semillas")
    assert reply(notes, "¿cuántas notas tengo?") == "Tienes 1 nota guardada."
    assert "Ya no cuenta" in reply(notes, "deshacer")
    assert notes.count("form_submissions") == 0


def test_a_reminder_is_asked_first_saved_after_yes_listed_served_and_undone(notes):
    tomorrow = today(notes) + timedelta(days=1)
    asked = reply(notes, "Recuérdame mañana: llamar a Juan")
    assert asked == f"¿Te recuerdo «llamar a Juan» el {day_name(tomorrow)}? Responde «sí» o «no»."
    assert notes.count("example_reminders") == 0  # nothing until the «sí»
    assert reply(notes, "sí").startswith(f"Te recordaré «llamar a Juan» el {day_name(tomorrow)}.")
    assert notes.db.execute("SELECT due_on, text, sent_at FROM example_reminders").fetchall() == \
        [(tomorrow.isoformat(), "llamar a Juan", None)]

    listed = reply(notes, "¿qué recordatorios tengo?")  # a fact intent answered by code from `facts`
    assert listed == f"Te recordaré:\n• {day_name(tomorrow)}: llamar a Juan"
    weekday = day_name(tomorrow).split()[0]
    other = day_name(tomorrow + timedelta(days=1)).split()[0]
    assert "llamar a Juan" in reply(notes, f"¿qué me recuerdas el {weekday}?")  # the slot read_slots reads
    assert "No tengo recordatorios pendientes para el" in reply(notes, f"¿qué me recuerdas el {other}?")
    assert PLUGIN.mark_entities(f"que me recuerdas el {other}") == "que me recuerdas el zdia"

    served = notes.client.get(f"/example/reminders?phone={PHONE}", headers=AUTH)  # its route
    assert served.status_code == 200 and served.json == {"recordatorios": [{"dia": tomorrow.isoformat(),
                                                                            "texto": "llamar a Juan"}]}
    assert notes.client.get("/example/reminders?phone=+51911111111", headers=AUTH).status_code == 404
    assert notes.client.get(f"/example/reminders?phone={PHONE}").status_code == 401  # behind the token

    assert "recordatorios: 1" in reply(notes, "MIS DATOS")  # data_labels
    assert "Ya no cuenta" in reply(notes, "deshacer")
    assert notes.count("example_reminders") == 0


def test_a_reminder_for_a_day_gone_is_refused_by_prepare(notes):
    refused = reply(notes, "recuérdame el 1/1/2020: pagar la luz")
    assert refused.startswith("Ese día ya pasó") and notes.count("pending_actions") == 0
    assert reply(notes, "ponme un recordatorio").startswith("¿Qué te recuerdo y cuándo?")  # the intent's `missing`


def test_the_job_sends_each_due_reminder_once_and_never_to_someone_who_opted_out(notes):
    reply(notes, "recuérdame hoy: regar las habas")
    reply(notes, "sí")
    reply(notes, "recuérdame en 3 días: cosechar")
    reply(notes, "sí")
    assert "example.recordatorios" in notes.app.extensions["chasqui_scheduler"].jobs
    assert example.send_reminders(notes.db) == 1
    assert notes.db.execute("SELECT message, level FROM alerts").fetchall() == [("⏰ Recordatorio: regar las habas",
                                                                                 "media")]
    assert example.send_reminders(notes.db) == 0  # sent once
    notes.db.execute("UPDATE example_reminders SET due_on = ?", [today(notes).isoformat()])
    reply(notes, "BAJA")
    assert example.send_reminders(notes.db) == 0 and notes.count("alerts") == 1


def test_the_admin_page_lists_the_reminders(notes):
    reply(notes, "recuérdame mañana: llamar a Juan")
    reply(notes, "sí")
    create_user(notes.db, USERNAME, PASSWORD)
    token = csrf_token(notes.client.get("/admin/login").text)
    notes.client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD, "csrf_token": token})
    page = notes.client.get("/admin/example/reminders/")
    assert page.status_code == 200 and "llamar a Juan" in page.text and PHONE in page.text
    assert "pendiente" in page.text and "Recordatorios" in notes.client.get("/admin/").text  # in the menu


def test_erasing_a_contact_erases_its_reminders(notes):
    reply(notes, "recuérdame mañana: llamar a Juan")
    reply(notes, "sí")
    reply(notes, "BORRAR MIS DATOS")
    reply(notes, "sí")
    assert notes.count("example_reminders") == 0 and notes.count("contacts") == 0


def test_the_form_menu_demo_speech_prompt_and_profile_hook(notes, caplog):
    assert notes.db.execute("SELECT domain FROM form_definitions WHERE name = 'nota'").fetchone() == ("example",)
    submitted = notes.client.post("/form/update", json={"phone": PHONE, "form": "nota", "data": {"texto": "x"}},
                                  headers=AUTH)
    assert submitted.status_code == 201
    assert "recordatorios" in reply(notes, "ayuda")  # the menu
    assert speech_prompt(SimpleNamespace(plugins={"example": PLUGIN}), "example") == PLUGIN.speech_prompt
    other = "+51987000022"
    notes.say(other, "hola")
    notes.say(other, "Ana")
    replies = [notes.say(other, text)["model_output"]["respuesta_chat"] for text in PLUGIN.demo]
    assert "Listo, Ana" in replies[0] and replies[1].startswith("Guardé tu nota")
    with caplog.at_level(logging.INFO, logger="backend.plugins.example"):
        PLUGIN.on_profile_change(notes.db, find_contact(notes.db, PHONE), {"ciudad": "Lima"})
    assert any(record.getMessage() == "profile changed" for record in caplog.records)
