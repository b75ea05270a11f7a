"""A producer's second plot told by chat: «sembré papa en el lote 2» names a plot that does not
exist yet; once the producer answers «sí» it exists, with the first plot's place, soil and
irrigation, and it is advised and named by later reports. Other reports on an unknown plot are
refused with the way to add one."""
from __future__ import annotations

from datetime import date

from backend.contacts import find_contact
from backend.plugins.agro.facts import agro_facts
from tests.agro.conftest import PHONE, lima_today, onboard


def reply(farm, text: str) -> str:
    return farm.say(PHONE, text)["model_output"]["respuesta_chat"]


def advised(farm) -> list[dict]:
    return agro_facts(farm.db, find_contact(farm.db, PHONE))["lotes"]


def plots(farm) -> list[tuple]:
    return farm.db.execute("SELECT name, crop, planting_date, place, soil, method, rate_mm_h FROM agro_plots "
                           "ORDER BY id").fetchall()


def test_sowing_in_a_new_plot_adds_it_once_the_producer_confirms(farm, model):
    onboard(farm)
    asked = reply(farm, "Ayer sembré papa en el lote 2")
    yesterday = lima_today().toordinal() - 1
    assert asked.startswith(f"¿Anoto la siembra de papa en el lote 2 ({date.fromordinal(yesterday).isoformat()})")
    assert [row[0] for row in plots(farm)] == ["lote 1"]  # nothing before «sí»
    saved = reply(farm, "sí")
    assert saved.startswith("Guardé la siembra de papa en el lote 2") and "Es un lote nuevo" in saved
    first, second = plots(farm)
    assert first[0] == "lote 1" and first[1] == "maiz"
    assert second[:3] == ("lote 2", "papa", date.fromordinal(yesterday).isoformat())
    assert second[3:] == first[3:]  # place, soil, irrigation and its rate as the first plot's

    both = reply(farm, "¿Cuándo riego?")
    assert "tu maíz (lote 1)" in both and "tu papa (lote 2)" in both
    assert reply(farm, "¿cuándo riego el lote 2?").count("lote") == 1  # the plot asked about
    lotes = advised(farm)
    assert [(lote["lote"], lote["cultivo"]) for lote in lotes] == [("lote 1", "maíz"), ("lote 2", "papa")]
    assert reply(farm, "Hoy regué 1 hora el lote 2").startswith("Guardé tu riego de 1 hora en el lote 2")


def test_a_denied_sowing_adds_no_plot(farm):
    onboard(farm)
    reply(farm, "sembré quinua en el lote 3")
    assert reply(farm, "no") == "Listo, no lo guardé."
    assert [row[0] for row in plots(farm)] == ["lote 1"]


def test_sowing_again_in_a_known_plot_replants_it(farm):
    onboard(farm)
    reply(farm, "hoy sembré frijol en el lote 1")
    assert "lote nuevo" not in reply(farm, "sí")
    assert [(row[0], row[1]) for row in plots(farm)] == [("lote 1", "frijol")]


def test_other_reports_on_an_unknown_plot_say_how_to_add_it(farm):
    onboard(farm)
    refused = reply(farm, "Ayer regué 2 horas el lote 7")
    assert refused.startswith("No anoté el reporte: no tienes un «lote 7». Tus lotes: lote 1.")
    assert "sembré papa en el lote 7" in refused
    assert "lote 7" not in [row[0] for row in plots(farm)]


def test_words_after_chacra_are_not_taken_for_a_plot_name(farm):
    onboard(farm)
    saved = reply(farm, "ayer regué 2 horas mi chacra de arriba")
    assert saved.startswith("Guardé tu riego de 2 horas (")  # the first plot, no «lote de»


def test_a_plot_gets_its_own_soil_and_irrigation_by_chat(farm, model):
    onboard(farm)  # lote 1: loam, drip at 4 mm/h
    reply(farm, "Ayer sembré papa en el lote 2")
    reply(farm, "sí")
    before = advised(farm)[1]
    assert reply(farm, "El lote 2 es de suelo arenoso").startswith("¿Cambio el lote 2 a suelo arenoso?")
    assert reply(farm, "sí").startswith("Cambié el lote 2: suelo arenoso.")
    reply(farm, "en el lote 2 riego por aspersión 8 mm/h")
    assert reply(farm, "dale").startswith("Cambié el lote 2: riego por aspersión (8 mm/h).")
    first, second = plots(farm)
    assert second[4:] == ("arenoso", "aspersion", 8.0) and first[4:] == ("franco", "goteo", 4.0)
    after = advised(farm)[1]
    # sand holds less water than loam: less is available to the potato
    assert int(after["agua_disponible"].split()[-2]) < int(before["agua_disponible"].split()[-2])


def test_the_first_plot_changes_with_the_answers_new_plots_copy(farm):
    onboard(farm)
    assert reply(farm, "mi chacra es de secano").startswith("¿Cambio tu primer lote a riego por secano")
    assert reply(farm, "si").startswith("Cambié tu primer lote: riego por secano (lluvia).")
    reply(farm, "Sembré frijol en el lote 2")
    reply(farm, "sí")
    assert [row[5] for row in plots(farm)] == ["secano", "secano"]


def test_questions_and_reports_are_not_taken_for_changes(farm):
    onboard(farm)
    assert not reply(farm, "¿riego por goteo el lote 1?").startswith("Cambié")
    assert reply(farm, "ayer regué 2 horas por goteo").startswith("Guardé tu riego de 2 horas")
    assert reply(farm, "El lote 9 es de suelo arcilloso").startswith("No cambié nada: no tienes un «lote 9»")
    assert [row[4:] for row in plots(farm)] == [("franco", "goteo", 4.0)]
