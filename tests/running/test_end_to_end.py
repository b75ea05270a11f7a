"""A runner logs a run by chat through the real stack: the backend as its own process with the
running plug-in, and the real model API on a small GGUF. The run is read by code, stored and read
back with its computed pace; a question is answered from the computed volume."""
from __future__ import annotations

from tests.databases import opened
from tests.running.conftest import ONBOARDING, PHONE
from tests.servers import agent_caller, start_backend

TOKEN = "running-e2e-token"


def test_a_run_told_on_whatsapp_is_logged_and_confirmed_with_its_pace(tmp_path, small_api):
    backend = start_backend(tmp_path, small_api.url, BACKEND_TOKEN=TOKEN, BACKEND_PLUGINS="running")
    try:
        say = agent_caller(backend.url, TOKEN, PHONE)

        for text in ONBOARDING:
            say(text)
        reply = say("Hoy corrí 10 km en 55 minutos, me sentí bien")
        assert reply["source"] == "action"
        assert "Registré tu carrera: 10 km en 55:00 (5:30/km)" in reply["model_output"]["respuesta_chat"]
        assert opened(backend.database).execute(
            "SELECT distance_km, duration_s, mood FROM running_runs").fetchall() == [(10.0, 3300.0, 4)]
        question = say("¿Cuánto corrí este mes?")
        assert question["source"] == "code" and "km en" in question["model_output"]["respuesta_chat"]
    finally:
        backend.stop()
