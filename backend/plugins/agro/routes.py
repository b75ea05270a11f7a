"""`POST /agro/plots?phone=+51…`: another plot for a producer ({"lote": "lote 2", "cultivo",
"fecha_siembra", "area", "ubicacion", "suelo", "riego", "fuente_agua"}, each read the way
onboarding reads the answer), and `GET /agro/plots?phone=…` to list them. Behind the backend's
bearer token: for the bridge, the admin's tools and integrations."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend.http_input import domain_contact, json_object, required_string
from backend.plugins.agro import profile, store
from backend.plugins.agro.facts import producer_plots
from backend.store.database import Store, transaction
from chasqui.http_errors import ApiError, bad_request

# body field -> (profile key, parser, required)
FIELDS = {"cultivo": ("cultivo", profile.parse_crop, True),
          "fecha_siembra": ("fecha_siembra", profile.parse_planting_date, True),
          "area": ("area_ha", profile.parse_area, False),
          "ubicacion": ("ubicacion", profile.parse_location, False),
          "suelo": ("suelo", profile.parse_soil, False),
          "riego": ("riego", profile.parse_irrigation, False),
          "fuente_agua": ("fuente_agua", profile.parse_water_source, False)}


def create_agro_blueprint(db_store: Store) -> Blueprint:
    agro = Blueprint("agro", __name__)

    @agro.get("/agro/plots")
    def list_plots():
        contact = _producer(db_store)
        return jsonify({"plots": [_public(p) for p in store.plots(db_store.db.conn, contact.id)]})

    @agro.post("/agro/plots")
    def add_plot():
        contact = _producer(db_store)
        body = json_object(required=True)
        name = required_string(body, "lote").strip().lower()[:40]
        # What the body leaves out (place, soil, irrigation) is as the producer's first plot has it.
        described = {**contact.profile, "variedad": str(body.get("variedad") or "")[:60]}
        for field, (key, parse, required) in FIELDS.items():
            if body.get(field) in (None, ""):
                if required:
                    raise bad_request(f"'{field}' is required", field)
                continue
            if not isinstance(body[field], str):
                raise bad_request(f"'{field}' must be a string, as a producer would write it", field)
            try:
                described[key] = parse(body[field])
            except ValueError as problem:
                raise bad_request(str(problem), field) from None
        with transaction(db_store.db) as connection:
            if any(p.name == name for p in store.plots(connection, contact.id)):
                raise ApiError(409, "plot_exists", f"{contact.phone} already has a plot named {name!r}", "lote")
            store.save_plot(connection, contact.id, name, described)
        added = next(p for p in store.plots(db_store.db.conn, contact.id) if p.name == name)
        return jsonify(_public(added)), 201

    return agro


def _producer(db_store: Store):
    contact = domain_contact(db_store.db, request.args.get("phone"), "agro", "producer")
    producer_plots(db_store.db, contact)  # the onboarding's plot comes first, as "lote 1"
    return contact


def _public(plot: store.Plot) -> dict:
    return {"lote": plot.name, "cultivo": plot.crop, "fecha_siembra": plot.planting_date.isoformat(),
            "area_ha": plot.area_ha, "lugar": plot.place, "latitud": plot.latitude, "longitud": plot.longitude,
            "suelo": plot.soil, "riego": plot.method, "mm_por_hora": plot.rate_mm_h,
            "cosechado": plot.harvested_on.isoformat() if plot.harvested_on else None}
