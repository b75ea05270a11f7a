"""A producer's second plot through POST /agro/plots: read like onboarding answers, advised on its
own, named by reports; bad input is a 400 naming the field and saves nothing."""
from __future__ import annotations

from tests.agro.conftest import PHONE, onboard
from tests.backend.conftest import AUTH

URL = f"/agro/plots?phone={PHONE}"


def test_a_second_plot_is_added_advised_and_named_by_reports(farm, model):
    onboard(farm)
    added = farm.client.post(URL, headers=AUTH, json={"lote": "Lote 2", "cultivo": "papa", "fecha_siembra": "hace 1 mes",
                                                      "riego": "aspersión 8 mm/h"})
    assert added.status_code == 201, added.json
    assert added.json["lote"] == "lote 2" and added.json["cultivo"] == "papa" and added.json["mm_por_hora"] == 8
    assert [p["lote"] for p in farm.client.get(URL, headers=AUTH).json["plots"]] == ["lote 1", "lote 2"]
    answer = farm.say(PHONE, "¿Cuándo riego?")["model_output"]["respuesta_chat"]
    assert "(lote 1)" in answer and "tu papa (lote 2)" in answer
    assert farm.say(PHONE, "Ayer regué 2 horas el lote 2")["model_output"]["respuesta_chat"].startswith(
        "Guardé tu riego de 2 horas en el lote 2")


def test_bad_plots_are_refused_naming_the_field(farm):
    onboard(farm)
    for body, field in [({"cultivo": "papa", "fecha_siembra": "hoy"}, "lote"),
                        ({"lote": "lote 2", "fecha_siembra": "hoy"}, "cultivo"),
                        ({"lote": "lote 2", "cultivo": "mango del espacio", "fecha_siembra": "hoy"}, "cultivo"),
                        ({"lote": "lote 2", "cultivo": "papa", "fecha_siembra": "15/08/2031"}, "fecha_siembra"),
                        ({"lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hoy", "ubicacion": "-95, 200"},
                         "ubicacion"),
                        ({"lote": "lote 2", "cultivo": "papa", "fecha_siembra": 5}, "fecha_siembra")]:
        response = farm.client.post(URL, headers=AUTH, json=body)
        assert response.status_code == 400 and response.json["error"]["param"] == field, (body, response.json)
    farm.say(PHONE, "¿Cuándo riego?")  # lote 1 now exists
    taken = farm.client.post(URL, headers=AUTH, json={"lote": "lote 1", "cultivo": "papa", "fecha_siembra": "hoy"})
    assert taken.status_code == 409
    assert farm.client.post("/agro/plots?phone=+51911111111", headers=AUTH, json={}).status_code == 404
    assert farm.client.post(URL, json={}).status_code == 401
    assert len(farm.client.get(URL, headers=AUTH).json["plots"]) == 1
