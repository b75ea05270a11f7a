"""A backend with the agro plug-in on a real SQLite file (or its PostgreSQL database: tests/databases.py),
the scripted loopback model, and the loopback Open-Meteo serving recorded weather moved to this week
(tests/agro/test_end_to_end.py uses the real model API)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.agro.fake_open_meteo import FakeOpenMeteo
from tests.backend.conftest import Backend, plugin_backend
from tests.backend.scripted_model import ScriptedModel
from tests.databases import ON_POSTGRESQL

PHONE = "+51987654321"
# The first message counts: one answer can give everything (the first answer comes with it).
ONBOARDING = ["Hola", "maíz en Huaral, 1 ha, sembré hace 2 meses, suelo franco, riego por goteo 4 mm/h, agua de canal"]
NAME = "Rosa"  # as WhatsApp gives it with the first message (the bridge passes the profile name)


def lima_today():
    return datetime.now(ZoneInfo("America/Lima")).date()


@pytest.fixture
def weather(monkeypatch, tmp_path):
    fake = FakeOpenMeteo()
    fake.align_to = lima_today()
    monkeypatch.setenv("AGRO_OPEN_METEO_URL", fake.url)
    monkeypatch.setenv("AGRO_GEOCODING_URL", fake.url)
    if ON_POSTGRESQL:  # the weather cache is in CHASQUI_HOME there (core.database_folder): the test's own
        monkeypatch.setenv("CHASQUI_HOME", str(tmp_path))
    yield fake
    fake.stop()


@pytest.fixture
def model():
    scripted = ScriptedModel().answer_by_default("¡Claro que sí!")
    yield scripted
    scripted.stop()


@pytest.fixture
def farm(tmp_path, model, weather) -> Backend:
    return plugin_backend(tmp_path, model.url, "agro")


def onboard(backend: Backend, phone: str = PHONE, answers: list[str] = ONBOARDING) -> list[str]:
    first = backend.say(phone, answers[0], name=NAME)["model_output"]["respuesta_chat"]
    return [first, *backend.replies(phone, answers[1:])]

