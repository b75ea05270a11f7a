"""Pest reports by chat become the community signal: several neighbours reporting the same pest on
the same crop alert the other growers of that crop nearby, once per outbreak; admins' broadcasts
reach a crop in a region; questions about a pest are answered from the curated knowledge base."""
from __future__ import annotations

from backend.plugins.agro.jobs import pest_signal
from tests.agro.conftest import ONBOARDING, lima_today, onboard
from tests.backend.conftest import AUTH

NEIGHBOURS = [f"+5198700000{n}" for n in range(1, 6)]
POTATO = ["Hola", "Juan", "papa", "canchán", "hace 1 mes", "2 ha", "Huaral", "franco", "gravedad", "río"]


def alerts(farm) -> list[tuple]:
    return farm.db.execute("SELECT c.phone, a.message, a.level FROM alerts a JOIN contacts c ON c.id = a.contact_id "
                           "ORDER BY a.id").fetchall()


def test_three_neighbours_reporting_cogollero_alert_the_other_maize_growers_once(farm):
    for phone in NEIGHBOURS[:4]:
        onboard(farm, phone, ONBOARDING)
    onboard(farm, NEIGHBOURS[4], POTATO)
    for phone in NEIGHBOURS[:2]:
        reply = farm.say(phone, "Hoy vi gusano cogollero en mi maíz")["model_output"]["respuesta_chat"]
        assert reply.startswith("¿Anoto gusano cogollero")
        assert farm.say(phone, "sí")["model_output"]["respuesta_chat"].startswith("Guardé gusano cogollero")
    assert pest_signal(farm.db, lima_today()) == 0  # two reporters are not an outbreak
    farm.say(NEIGHBOURS[2], "Hay cogollero en el maíz")
    farm.say(NEIGHBOURS[2], "ok")
    assert pest_signal(farm.db, lima_today()) == 1
    sent = alerts(farm)
    assert [phone for phone, _, _ in sent] == [NEIGHBOURS[3]]  # not the reporters, not the potato grower
    assert "cogollero" in sent[0][1].lower() and sent[0][2] == "alta"
    farm.say(NEIGHBOURS[3], "Ahora también vi cogollero")  # the outbreak grows
    farm.say(NEIGHBOURS[3], "sí")
    assert pest_signal(farm.db, lima_today()) == 0 and pest_signal(farm.db, lima_today()) == 0
    assert len(alerts(farm)) == 1


def test_an_admin_broadcast_reaches_a_crop_in_a_region(farm):
    onboard(farm, NEIGHBOURS[0], ONBOARDING)
    onboard(farm, NEIGHBOURS[1], POTATO)
    farm.say(NEIGHBOURS[0], "¿Cuándo riego?")  # the first plot (and its region) exist once advised
    farm.say(NEIGHBOURS[1], "¿Cuándo riego?")
    created = farm.client.post("/alert", headers=AUTH, json={
        "filter": {"domain": "agro", "cultivo": "maíz", "region": "HUARAL"},
        "message": "Helada esta noche: riegue al atardecer y cubra los almácigos.", "level": "alta"})
    assert created.status_code == 201, created.json
    assert [phone for phone, _, _ in alerts(farm)] == [NEIGHBOURS[0]]


def test_a_pest_question_is_answered_from_the_curated_text_without_the_model(farm, model):
    onboard(farm)
    for question in ("¿Cómo controlo el gusano cogollero?", "q hago contra la rancha en mi papa",
                     "que es la broca del cafe"):
        reply = farm.say("+51987654321", question)
        assert reply["source"] == "code" and "Para controlarla:" in reply["model_output"]["respuesta_chat"]
    assert model.requests == []
    assert farm.count("form_submissions") == 0  # a question is not a sighting
