"""The agro plug-in through POST /agent: onboarding with its bad answers, "¿Cuándo riego?"
answered by code from the water balance (no model call), field reports by chat and by form
feeding it, and the weather service being down."""
from __future__ import annotations

from backend.contacts import find_contact
from backend.plugins.agro.facts import agro_facts
from tests.agro.conftest import PHONE, onboard
from tests.backend.conftest import AUTH


def plot_facts(farm) -> dict:
    """What the plug-in computes for the producer's first plot right now."""
    return agro_facts(farm.db, find_contact(farm.db, PHONE))["lotes"][0]


def test_onboarding_reads_the_farm_and_asks_again_on_bad_answers(farm):
    replies = onboard(farm, answers=["Hola", "mango del espacio"])
    assert "cultivo" in replies[0] and "chacra" in replies[0]  # what the first answer needs, in one question
    assert replies[1].startswith("No conozco el cultivo «mango del espacio»")
    assert "maíz" in replies[1] or "maiz" in replies[1]  # the known crops are listed
    assert "chacra" in farm.say(PHONE, "maíz")["model_output"]["respuesta_chat"]
    far = farm.say(PHONE, "-95, 200")["model_output"]["respuesta_chat"]
    assert "coordenadas no existen" in far
    assert "sembraste" in farm.say(PHONE, "Huaral")["model_output"]["respuesta_chat"]
    future = farm.say(PHONE, "15/08/2031")["model_output"]["respuesta_chat"]
    assert "no puede estar en el futuro" in future
    done = farm.say(PHONE, "hace 2 meses")
    assert done["source"] == "code" and "Listo, Rosa" in done["model_output"]["respuesta_chat"]


def test_when_to_irrigate_comes_from_the_water_balance_not_the_model(farm, model):
    onboard(farm)
    replies = [farm.say(PHONE, text) for text in ("¿Cuándo riego mi maíz?", "cuando rieggo", "ya toca regar?")]
    facts = plot_facts(farm)
    assert facts["cultivo"] and facts["datos"].startswith("clima de Open-Meteo")
    assert facts["lamina_mm"] > 0 and facts["horas_de_riego"] == round(facts["lamina_mm"] / 4, 1)
    when = "hoy" if facts["proximo_riego"] == "hoy" else f"el {facts['proximo_riego']}"
    hours = str(facts["horas_de_riego"]).removesuffix(".0").replace(".", ",")
    for reply in replies:
        text = reply["model_output"]["respuesta_chat"]
        assert reply["source"] == "code" and f"{when}: {facts['lamina_mm']} mm, unas {hours} horas de riego." in text
    assert model.requests == [] and model.classify_requests == []


def test_the_producers_everyday_questions_are_answered_from_the_facts(farm, model):
    onboard(farm)
    facts = plot_facts(farm)
    ask = lambda text: farm.say(PHONE, text)["model_output"]["respuesta_chat"]  # noqa: E731
    assert facts["agua_disponible"] in ask("cuanta agua le queda al suelo?")
    assert facts["etapa"] in ask("en que etapa esta mi maiz")
    assert f"{facts['dias_desde_siembra']} días" in ask("cuantos dias tiene mi maiz desde la siembra")
    assert "No tengo ningún riego anotado" in ask("cuando fue mi ultimo riego?")
    farm.say(PHONE, "ayer regue 2 horas")
    assert "2 horas" in ask("cuando fue mi ultimo riego?")
    pest = ask("como controlo el gusano cogollero?")
    assert pest.startswith("Gusano cogollero (Spodoptera frugiperda)") and "controlarla" in pest
    assert model.requests == []


def test_an_irrigation_told_by_chat_fills_the_root_zone(farm, model):
    onboard(farm)
    before = plot_facts(farm)["agua_disponible"]
    # a report with its own figures is saved at once and read back, with the way to take it back
    saved = farm.say(PHONE, "Ayer regué 5 horas")["model_output"]["respuesta_chat"]
    assert saved.startswith("Guardé tu riego de 5 horas") and "deshacer" in saved
    after = plot_facts(farm)["agua_disponible"]
    assert int(after.split()[0]) > int(before.split()[0])  # 5 h x 4 mm/h went into the soil
    assert farm.say(PHONE, "deshacer")["source"] == "action"
    assert plot_facts(farm)["agua_disponible"] == before and farm.count("form_submissions") == 0


def test_an_irrigation_done_today_counts_today(farm, model):
    onboard(farm)
    before = plot_facts(farm)["agua_disponible"]
    assert farm.say(PHONE, "Hoy regué tres horas")["model_output"]["respuesta_chat"].startswith("Guardé tu riego")
    assert int(plot_facts(farm)["agua_disponible"].split()[0]) > int(before.split()[0])


def test_a_report_without_its_figure_asks_for_it_and_saves_nothing(farm):
    onboard(farm)
    asked = farm.say(PHONE, "ayer regue mi chacra")["model_output"]["respuesta_chat"]
    assert asked.startswith("¿Cuánto regaste?")
    assert farm.count("form_submissions") == 0


def test_a_report_the_producer_says_was_wrong_is_taken_back(farm):
    onboard(farm)
    assert farm.say(PHONE, "Llovió 12 mm hoy")["model_output"]["respuesta_chat"].startswith("Guardé 12 mm de lluvia")
    assert "deshice" in farm.say(PHONE, "no, me equivoqué")["model_output"]["respuesta_chat"]
    assert not farm.say(PHONE, "sí")["model_output"]["respuesta_chat"].startswith("Guardé")  # nothing pending
    assert farm.count("form_submissions") == 0


def test_a_pest_seen_is_asked_first_and_saved_only_after_yes(farm):
    onboard(farm)
    question = farm.say(PHONE, "vi gusano cogollero en mi maiz")["model_output"]["respuesta_chat"]
    assert question.startswith("¿Anoto gusano cogollero") and "«sí»" in question
    assert farm.count("form_submissions") == 0
    assert farm.say(PHONE, "ok")["model_output"]["respuesta_chat"].startswith("Guardé gusano cogollero")
    assert farm.count("form_submissions") == 1


def test_reports_through_the_form_endpoint_feed_the_balance_too(farm, model):
    onboard(farm)
    before = plot_facts(farm)["agua_disponible"]
    from tests.agro.conftest import lima_today
    yesterday = lima_today().toordinal() - 1
    from datetime import date
    posted = farm.client.post("/form/update", headers=AUTH, json={
        "phone": PHONE, "form": "lluvia", "data": {"fecha": date.fromordinal(yesterday).isoformat(), "mm": 25}})
    assert posted.status_code == 201, posted.json
    assert int(plot_facts(farm)["agua_disponible"].split()[0]) > int(before.split()[0])
    bad = farm.client.post("/form/update", headers=AUTH, json={"phone": PHONE, "form": "riego",
                                                               "data": {"fecha": "2026-01-01"}})
    assert bad.status_code == 400  # hours or millimetres are required


def test_without_weather_the_advice_says_it_is_an_estimate(farm, model, weather):
    weather.stop()  # Open-Meteo down, nothing cached for this farm's place
    assert "estimada" in onboard(farm)[-1]  # the first answer, at the end of onboarding
    reply = farm.say(PHONE, "¿Cuándo riego?")["model_output"]["respuesta_chat"]
    facts = plot_facts(farm)
    assert "estimada" in facts["datos"]
    assert "tu maíz" in reply and "mm" in reply and "estimada" in reply  # still an answer, on a conservative ET0


def test_a_report_beyond_its_forms_bounds_is_refused_even_though_the_model_was_not_told_them(farm):
    onboard(farm)
    reply = farm.say(PHONE, "Ayer regué 100 horas")["model_output"]["respuesta_chat"]  # the form allows 72
    assert not reply.startswith(("¿Anoto", "Guardé"))
    assert farm.say(PHONE, "sí")["model_output"]["respuesta_chat"] != "Guardé tu riego de 100 horas."
    assert farm.count("form_submissions") == 0


def test_impossible_dates_and_absurd_ages_are_refused_not_crashes(farm):
    replies = onboard(farm, answers=["Hola", "Rosa", "maíz", "no sé", "hace 99999999 años"])
    assert replies[-1].startswith("Escribe la fecha de siembra")  # asked again
    onboard(farm, answers=["hace 2 meses", "1 ha", "Huaral", "franco", "goteo 4 mm/h", "canal"])
    bad = farm.client.post("/form/update", headers=AUTH, json={
        "phone": PHONE, "form": "plaga", "data": {"fecha": "2026-13-45", "plaga": "rancha"}})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_form_data"
    assert farm.say(PHONE, "hace 99999999 años regué 2 horas")["model_output"]["respuesta_chat"]
    added = farm.client.post(f"/agro/plots?phone={PHONE}", headers=AUTH,
                             json={"lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hace 99999999 años"})
    assert added.status_code == 400
    assert farm.count("form_submissions") <= 1  # at most the irrigation, dated today


def test_a_stored_report_that_no_longer_fits_its_form_is_skipped_not_fatal(farm):
    onboard(farm)
    contact_id = farm.db.execute("SELECT id FROM contacts").fetchone()[0]
    for form, data in [("lluvia", '{"fecha": "2026-13-45", "mm": 10}'), ("riego", '{"fecha": "2026-01-01"}'),
                       ("lluvia", "not json")]:  # written before the checks, or by hand
        form_id = farm.db.execute("SELECT id FROM form_definitions WHERE name = ?", [form]).fetchone()[0]
        farm.db.execute("INSERT INTO form_submissions (form_id, contact_id, data, source, created_at) "
                        "VALUES (?, ?, ?, 'api', 0)", [form_id, contact_id, data])
    reply = farm.say(PHONE, "¿Cuándo riego?")
    assert reply["source"] == "code" and " mm" in reply["model_output"]["respuesta_chat"]
    assert "No tengo ninguna lluvia anotada" in farm.say(PHONE, "cuando fue la ultima lluvia?")["model_output"][
        "respuesta_chat"]


def test_a_producer_onboarded_again_after_agro_is_switched_off_sees_no_raw_profile_values(farm, tmp_path, model):
    """The example domain's onboarding reads back only its own fields, not the agro profile left
    behind (it once listed «{'method': 'goteo', …}»)."""
    from backend.app import create_app
    from tests.backend.conftest import Backend, backend_settings

    onboard(farm)
    example_only = create_app(backend_settings(tmp_path, model.url, plugins=("example",)))
    example_only.extensions["chasqui_scheduler"].stop()
    reply = Backend(example_only).say(PHONE, "Guarda una nota: regar el jueves")["model_output"]["respuesta_chat"]
    assert "{" not in reply and "method" not in reply and "goteo" not in reply, reply
