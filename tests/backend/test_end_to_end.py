"""The backend and the real model API (Qwen2.5-Coder-0.5B GGUF) as separate processes, over HTTP."""
import json

import pytest
import requests

from tests.databases import opened
from tests.servers import start_backend

TOKEN = "e2e-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHONE = "51955555555@c.us"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, default_api):
    directory = tmp_path_factory.mktemp("stack")
    backend = start_backend(directory, default_api.url, BACKEND_TOKEN=TOKEN, BACKEND_MODEL_TEMPERATURE="0")
    yield backend, backend.database
    backend.stop()


def agent(backend, message):
    response = requests.post(f"{backend.url}/agent", headers=AUTH, timeout=120,
                             json={"phone": PHONE, "message": message, "role": "consulta"})
    assert response.status_code == 200, response.text
    return response.json()


def test_new_user_onboards_saves_a_note_by_code_and_gets_an_open_answer_from_the_model(stack):
    backend, database = stack
    assert agent(backend, "Hola")["source"] == "onboarding"
    agent(backend, "Rosa")
    assert "Listo, Rosa" in agent(backend, "Cajamarca")["model_output"]["respuesta_chat"]
    reply = agent(backend, "Guarda una nota: regar el maíz el jueves")
    assert reply["source"] == "action" and set(reply["model_output"]) == {"role", "respuesta_chat", "acciones", "estado"}
    assert reply["model_output"]["acciones"] == {"guardar_nota": {"texto": "regar el maíz el jueves"}}
    assert [json.loads(r[0]) for r in opened(database).execute("SELECT data FROM form_submissions")] == [
        {"texto": "regar el maíz el jueves"}]
    answer = agent(backend, "¿Qué opinas de Cajamarca?")
    assert answer["source"] == "model" and answer["timings"]["generate_ms"] > 0
    assert len(answer["model_output"]["respuesta_chat"]) >= 12 and answer["model_output"]["acciones"] == {}


def test_an_unclear_message_is_classified_by_the_real_model(stack):
    backend, _ = stack
    reply = agent(backend, "brr notitas xyz qwe")
    state = reply["model_output"]["estado"]
    assert state["via"] == "model" and reply["timings"]["classify_ms"] > 0
    assert state["intencion"] in {"guardar_nota", "contar_notas", "pregunta_abierta"}  # the candidates


def test_alert_round_trip_over_http(stack):
    backend, _ = stack
    created = requests.post(f"{backend.url}/alert", headers=AUTH, timeout=10,
                            json={"phone": "+51955555555", "message": "Helada esta noche", "level": "alta"})
    assert created.status_code == 201, created.text
    pending = requests.get(f"{backend.url}/alerts/pending", headers=AUTH, timeout=10).json()["alerts"]
    assert [(a["phone"], a["message"], a["level"]) for a in pending] == [("+51955555555", "Helada esta noche", "alta")]
    assert requests.get(f"{backend.url}/alerts/pending", headers=AUTH, timeout=10).json()["alerts"] == []  # leased
    sent = requests.post(f"{backend.url}/alerts/{pending[0]['id']}/sent", headers=AUTH, timeout=10)
    assert sent.json()["status"] == "sent"


def test_model_api_down_gives_an_apology_and_keeps_the_message(tmp_path):
    backend = start_backend(tmp_path, "http://127.0.0.1:9", BACKEND_TOKEN=TOKEN)  # nothing listens on port 9
    try:
        for message in ("Hola", "Rosa", "Cajamarca"):
            agent(backend, message)
        reply = agent(backend, "¿Cuántas notas tengo?")
        assert reply["source"] == "code"  # answered from the facts: no model needed
        assert agent(backend, "¿Qué opinas de la vida?")["source"] == "apology"
        health = requests.get(f"{backend.url}/health", timeout=10).json()
        assert health["status"] == "degraded" and health["model_api"] == "unreachable"
    finally:
        backend.stop()
    db = opened(backend.database)
    assert db.execute("SELECT COUNT(*) FROM messages WHERE body = '¿Cuántas notas tengo?'").fetchone()[0] == 1
