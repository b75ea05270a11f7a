"""A backend with the running plug-in, on a real SQLite file (or its PostgreSQL database:
tests/databases.py), with the scripted loopback model (tests/running/test_end_to_end.py uses the real
model API instead)."""
from __future__ import annotations


import pytest

from tests.backend.conftest import Backend, plugin_backend
from tests.backend.scripted_model import ScriptedModel

PHONE = "+51987654321"
# The goal and a recent result give the first answer (the paces); runs per week are asked after it.
ONBOARDING = ["Hola", "maratón, hice 5K en 19:57", "4"]
NAME = "Lucía"  # as WhatsApp gives it with the first message (the bridge passes the profile name)


@pytest.fixture
def model():
    scripted = ScriptedModel().answer_by_default("¡Muy bien!")
    yield scripted
    scripted.stop()


@pytest.fixture
def coach(tmp_path, model) -> Backend:
    return plugin_backend(tmp_path, model.url, "running")


def onboard(backend: Backend, phone: str = PHONE, answers: list[str] = ONBOARDING) -> list[str]:
    first = backend.say(phone, answers[0], name=NAME)["model_output"]["respuesta_chat"]
    return [first, *backend.replies(phone, answers[1:])]

