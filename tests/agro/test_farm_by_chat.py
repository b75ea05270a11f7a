"""The agro plug-in through POST /agent: onboarding with its bad answers, "¿Cuándo riego?"
answered from the water balance, field reports by chat and by form feeding it, and the weather
service being down."""
from __future__ import annotations

from tests.agro.conftest import PHONE, onboard
from tests.backend.conftest import AUTH


def plot_facts(model) -> dict:
    return model.last_context()["hechos"]["lotes"][0]


def test_onboarding_reads_the_farm_and_asks_again_on_bad_answers(farm):
    replies = onboard(farm, answers=["Hola", "Rosa", "mango del espacio"])
    assert replies[2].startswith("No conozco el cultivo «mango del espacio»")
    assert "maíz" in replies[2] or "maiz" in replies[2]  # the known crops are listed
    assert "variedad" in farm.say(PHONE, "maíz")["model_output"]["respuesta_chat"]
    assert "sembraste" in farm.say(PHONE, "no sé")["model_output"]["respuesta_chat"]
    future = farm.say(PHONE, "15/08/2031")["model_output"]["respuesta_chat"]
    assert "no puede estar en el futuro" in future
    farm.say(PHONE, "hace 2 meses")
    farm.say(PHONE, "1 ha")
    far = farm.say(PHONE, "-95, 200")["model_output"]["respuesta_chat"]
    assert "coordenadas no existen" in far
    for answer in ["Huaral", "franco", "goteo 4 mm/h"]:
        farm.say(PHONE, answer)
    assert "Listo, Rosa" in farm.say(PHONE, "canal")["model_output"]["respuesta_chat"]


def test_when_to_irrigate_comes_from_the_water_balance_not_the_model(farm, model):
    onboard(farm)
    model.answer("Riega mañana con 50 mm.")  # a small model's guess
    reply = farm.say(PHONE, "¿Cuándo riego mi maíz?")["model_output"]["respuesta_chat"]
    facts = plot_facts(model)
    assert facts["cultivo"] and facts["datos"].startswith("clima de Open-Meteo")
    assert facts["lamina_mm"] > 0 and facts["horas_de_riego"] == round(facts["lamina_mm"] / 4, 1)
    when = "hoy" if facts["proximo_riego"] == "hoy" else f"el {facts['proximo_riego']}"
    assert reply == (f"Riega tu {facts['cultivo']} (lote 1) {when}: {facts['lamina_mm']} mm, "
                     f"unas {str(facts['horas_de_riego']).removesuffix('.0').replace('.', ',')} horas de riego.")


def test_an_irrigation_told_by_chat_fills_the_root_zone(farm, model):
    onboard(farm)
    farm.say(PHONE, "¿Cuándo riego?")
    before = plot_facts(model)["agua_disponible"]
    question = farm.say(PHONE, "Ayer regué 5 horas")["model_output"]["respuesta_chat"]
    assert question.startswith("¿Anoto tu riego de 5 horas") and "«sí»" in question
    farm.say(PHONE, "¿Cuándo riego?")
    assert plot_facts(model)["agua_disponible"] == before  # nothing counts before the producer says yes
    assert farm.say(PHONE, "Sí")["model_output"]["respuesta_chat"].startswith("Guardé tu riego de 5 horas")
    farm.say(PHONE, "¿Cuándo riego?")
    after = plot_facts(model)["agua_disponible"]
    assert int(after.split()[0]) > int(before.split()[0])  # 5 h x 4 mm/h went into the soil


def test_an_irrigation_done_today_counts_today(farm, model):
    onboard(farm)
    farm.say(PHONE, "¿Cuándo riego?")
    before = plot_facts(model)["agua_disponible"]
    assert farm.say(PHONE, "Hoy regué 3 horas")["model_output"]["respuesta_chat"].startswith("¿Anoto tu riego")
    farm.say(PHONE, "sí")
    farm.say(PHONE, "¿Cuándo riego?")
    assert int(plot_facts(model)["agua_disponible"].split()[0]) > int(before.split()[0])


def test_a_report_the_producer_denies_is_not_saved(farm):
    onboard(farm)
    assert farm.say(PHONE, "Llovió 12 mm hoy")["model_output"]["respuesta_chat"].startswith("¿Anoto 12 mm de lluvia")
    assert farm.say(PHONE, "no, me equivoqué")["model_output"]["respuesta_chat"] == "Listo, no lo guardé."
    assert not farm.say(PHONE, "sí")["model_output"]["respuesta_chat"].startswith("Guardé")  # nothing pending
    assert farm.count("form_submissions") == 0


def test_reports_through_the_form_endpoint_feed_the_balance_too(farm, model):
    onboard(farm)
    farm.say(PHONE, "¿Cuándo riego?")
    before = plot_facts(model)["agua_disponible"]
    from tests.agro.conftest import lima_today
    yesterday = lima_today().toordinal() - 1
    from datetime import date
    posted = farm.client.post("/form/update", headers=AUTH, json={
        "phone": PHONE, "form": "lluvia", "data": {"fecha": date.fromordinal(yesterday).isoformat(), "mm": 25}})
    assert posted.status_code == 201, posted.json
    farm.say(PHONE, "¿Cuándo riego?")
    assert int(plot_facts(model)["agua_disponible"].split()[0]) > int(before.split()[0])
    bad = farm.client.post("/form/update", headers=AUTH, json={"phone": PHONE, "form": "riego",
                                                               "data": {"fecha": "2026-01-01"}})
    assert bad.status_code == 400  # hours or millimetres are required


def test_without_weather_the_advice_says_it_is_an_estimate(farm, model, weather):
    onboard(farm)
    weather.stop()  # Open-Meteo down, nothing cached for this farm's place
    reply = farm.say(PHONE, "¿Cuándo riego?")["model_output"]["respuesta_chat"]
    facts = plot_facts(model)
    assert "estimada" in facts["datos"]
    assert reply.startswith("Riega tu")  # still an answer, on a conservative ET0


def test_a_report_beyond_its_forms_bounds_is_refused_even_though_the_model_was_not_told_them(farm):
    onboard(farm)
    reply = farm.say(PHONE, "Ayer regué 100 horas")["model_output"]["respuesta_chat"]  # the form allows 72
    assert not reply.startswith("¿Anoto")
    assert farm.say(PHONE, "sí")["model_output"]["respuesta_chat"] != "Guardé tu riego de 100 horas."
    assert farm.count("form_submissions") == 0
