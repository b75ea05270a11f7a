"""'¿Cuándo riego?' through the real stack: the backend as its own process with the agro plug-in,
the real model API on a small GGUF, and the loopback Open-Meteo with recorded weather. The answer
comes from code (no model call): the computed date and depth."""
from __future__ import annotations

from tests.agro.conftest import ONBOARDING, PHONE, lima_today
from tests.agro.fake_open_meteo import FakeOpenMeteo
from tests.servers import agent_caller, start_backend

TOKEN = "agro-e2e-token"


def test_when_to_irrigate_end_to_end_carries_the_computed_date_and_depth(tmp_path, small_api):
    weather = FakeOpenMeteo()
    weather.align_to = lima_today()
    backend = start_backend(tmp_path, small_api.url, BACKEND_TOKEN=TOKEN, BACKEND_PLUGINS="agro",
                            AGRO_OPEN_METEO_URL=weather.url, AGRO_GEOCODING_URL=weather.url)
    try:
        say = agent_caller(backend.url, TOKEN, PHONE)

        for text in ONBOARDING:
            say(text)
        reply = say("¿Cuándo riego mi maíz?")
        text = reply["model_output"]["respuesta_chat"]
        assert reply["source"] == "code" and "tu maíz" in text and " mm, unas " in text, text
        assert weather.count("/v1/forecast") == 1 and weather.count("/v1/search") == 1
    finally:
        backend.stop()
        weather.stop()
