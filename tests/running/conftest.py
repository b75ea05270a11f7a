"""A backend with the running plug-in, on a real SQLite file, with the scripted loopback model
(tests/running/test_end_to_end.py uses the real model API instead)."""
from __future__ import annotations

import json

import pytest

from tests.backend.conftest import Backend, backend_settings
from tests.backend.scripted_model import ScriptedModel

PHONE = "+51987654321"
ONBOARDING = ["Hola", "Lucía", "34", "maratón", "no", "4", "intermedio", "ninguna", "5K en 19:57"]


@pytest.fixture
def model():
    scripted = ScriptedModel()
    scripted.default = (200, {"content": json.dumps({"role": "consulta", "respuesta_chat": "¡Muy bien!",
                                                      "acciones": {}, "estado": {}})}, {})
    yield scripted
    scripted.stop()


@pytest.fixture
def coach(tmp_path, model) -> Backend:
    from backend.app import create_app
    app = create_app(backend_settings(tmp_path, model.url, plugins=("running",)))
    app.extensions["chasqui_scheduler"].stop()  # the tests run the coach's jobs themselves, at chosen times
    return Backend(app)


def onboard(backend: Backend, phone: str = PHONE, answers: list[str] = ONBOARDING) -> list[str]:
    return [backend.say(phone, text)["model_output"]["respuesta_chat"] for text in answers]


def last_context(model: ScriptedModel) -> dict:
    context = model.requests[-1]["context"]
    return context if isinstance(context, dict) else json.loads(context)
