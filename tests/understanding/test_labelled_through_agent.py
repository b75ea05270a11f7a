"""Every utterance of the labelled set through POST /agent, one producer and one runner on a real
store (a scripted model for the few calls it makes): no server error, and a question never
changes what is stored, whatever it is taken for."""
from __future__ import annotations

import json

import pytest

from tests.agro.conftest import ONBOARDING as PRODUCER
from tests.agro.conftest import weather  # noqa: F401  (the loopback Open-Meteo, as a fixture here)
from tests.backend.conftest import plugin_backend
from tests.backend.scripted_model import ScriptedModel
from tests.running.conftest import ONBOARDING as RUNNER
from tests.understanding.labelled import load

PHONE = "+51911111111"
# Labels whose messages may change data on purpose (a report, a yes to a pending change, an undo).
CHANGES = {"confirmar", "deshacer", "negar", "registrar_carrera", "cambiar_objetivo", "reportar_molestia",
           "molestia_superada", "reportar_riego", "reportar_lluvia", "reportar_plaga", "reportar_cosecha",
           "reportar_siembra", "corregir_lote"}
TABLES = {"running": ("running_runs", "running_injuries"), "agro": ("form_submissions", "agro_plots")}


@pytest.fixture
def scripted():
    model = ScriptedModel().answer_by_default("Buena pregunta: depende de tu caso.")
    yield model
    model.stop()


def stored(backend, domain: str) -> list:
    rows = [backend.db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in TABLES[domain]]
    profile = json.loads(backend.db.execute("SELECT data FROM profiles").fetchone()[0])
    return [rows, profile]


@pytest.mark.parametrize("domain, onboarding", [("running", RUNNER), ("agro", PRODUCER)])
def test_every_labelled_message_is_answered_and_questions_change_nothing(tmp_path, scripted, weather, domain,
                                                                         onboarding):
    backend = plugin_backend(tmp_path, scripted.url, domain)
    backend.replies(PHONE, onboarding)
    backend.say(PHONE, "¿cuándo riego?" if domain == "agro" else "¿qué toca hoy?")  # the first plot and plan
    rows = [row for row in load() if row["domain"] in (domain, "core")]
    for row in rows:
        before = stored(backend, domain)
        reply = backend.say(PHONE, row["text"])  # asserts the 200
        assert reply["model_output"]["respuesta_chat"].strip(), row
        if row["intent"] not in CHANGES:
            assert stored(backend, domain) == before, (row, reply["model_output"])
