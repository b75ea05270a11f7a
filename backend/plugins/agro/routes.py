"""`POST /agro/plots?phone=+51…`: another plot for a producer ({"lote": "lote 2", "cultivo",
"fecha_siembra", "area", "ubicacion", "suelo", "riego", "fuente_agua"}, each read the way
onboarding reads the answer), and `GET /agro/plots?phone=…` to list them. Behind the backend's
bearer token: for the bridge, the admin's tools and integrations."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend.plugin_api import Store, core
from backend.plugins.agro import store
from backend.plugins.agro.facts import producer_plots
from backend.plugins.agro.plots import PlotRefused, add_plot
from chasqui.http_errors import ApiError, bad_request


def create_agro_blueprint(db_store: Store) -> Blueprint:
    # template_folder: the admin page (admin_view.py) renders this plug-in's own template.
    agro = Blueprint("agro", __name__, template_folder="templates")

    @agro.get("/agro/plots")
    def list_plots():
        contact = _producer(db_store)
        producer_plots(db_store.db, contact)  # the onboarding's plot comes first, as "lote 1"
        return jsonify({"plots": [_public(p) for p in store.plots(db_store.db, contact.id)]})

    @agro.post("/agro/plots")
    def add_plot_route():
        contact = _producer(db_store)  # add_plot makes "lote 1" itself, only if the new plot is saved
        body = core.json_object(required=True)
        try:
            added = add_plot(db_store.db, contact, body.get("lote"), body)
        except PlotRefused as problem:
            if problem.exists:
                raise ApiError(409, "plot_exists", str(problem), "lote") from None
            raise bad_request(str(problem), problem.field) from None
        return jsonify(_public(added)), 201

    return agro


def _producer(db_store: Store):
    return core.domain_contact(db_store.db, request.args.get("phone"), "agro", "producer")


def _public(plot: store.Plot) -> dict:
    return {"lote": plot.name, "cultivo": plot.crop, "fecha_siembra": plot.planting_date.isoformat(),
            "area_ha": plot.area_ha, "lugar": plot.place, "latitud": plot.latitude, "longitud": plot.longitude,
            "suelo": plot.soil, "riego": plot.method, "mm_por_hora": plot.rate_mm_h,
            "cosechado": plot.harvested_on.isoformat() if plot.harvested_on else None}
