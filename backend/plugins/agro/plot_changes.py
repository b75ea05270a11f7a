"""Correcting a plot by chat: «el lote 2 es de suelo arenoso», «en el lote 2 riego por aspersión
8 mm/h», «mi chacra es de secano». A plot added by chat takes the first plot's soil and irrigation;
this is how the producer gives it its own. Code reads the change with the parsers onboarding uses;
it is applied at once and read back (the producer sees what changed and can say it again)."""
from __future__ import annotations

import re

from backend.contacts import save_profile
from backend.plugins.agro import store
from backend.plugins.agro.facts import producer_plots
from backend.plugins.agro.plots import find_plot
from backend.plugins.agro.profile import METHOD_NAMES_ES, parse_irrigation
from backend.plugins.agro.soils import all_soils, find_soil_in, lookup_soil
from backend.plugins.base import Action, ActionContext, ActionRefused
from backend.spanish import decimal
from backend.text import fold

SOIL_WORDS = re.compile(r"\b(suelo|tierra)\b")
# «por goteo», «con aspersores», «de secano», «riego goteo»: a method as a way of irrigating
METHOD_PHRASE = re.compile(r"\b(?:por|con|de|a|riego|riegan?|regamos)\s+"
                           r"(goteo|aspersion|aspersores?|gravedad|surcos?|inundacion|melgas?|secano)\b")

SCHEMA = {"type": "object", "properties": {
    "lote": {"type": "string", "minLength": 1, "maxLength": 40},
    "suelo": {"type": "string", "enum": [soil.key for soil in all_soils()]},
    "riego": {"type": "object", "properties": {"method": {"type": "string", "enum": list(METHOD_NAMES_ES)},
                                               "rate_mm_h": {"type": ["number", "null"], "exclusiveMinimum": 0,
                                                             "maximum": 200}},
              "required": ["method"], "additionalProperties": False}},
    "anyOf": [{"required": ["suelo"]}, {"required": ["riego"]}], "additionalProperties": False}


def detect_change(message: str, plot_name: str | None) -> dict | None:
    """The soil and irrigation method the message gives a plot, or None (a question never is one)."""
    if "?" in message or "¿" in message:
        return None
    folded = fold(message)
    change: dict = {}
    if SOIL_WORDS.search(folded) and (soil := find_soil_in(folded)) is not None:
        change["suelo"] = soil.key
    if METHOD_PHRASE.search(folded):
        change["riego"] = parse_irrigation(folded)
    if not change:
        return None
    return {"lote": plot_name, **change} if plot_name else change


def change_plot(ctx: ActionContext, arguments: dict) -> None:
    plots = producer_plots(ctx.db, ctx.contact)
    if not plots:
        raise ActionRefused("Aún no tienes un lote registrado.")
    named = arguments.get("lote")
    plot = find_plot(plots, named)
    if plot is None:
        raise ActionRefused(f"No cambié nada: no tienes un «{named}». Tus lotes: {', '.join(p.name for p in plots)}.")
    irrigation = arguments.get("riego")
    store.update_plot(ctx.db.conn, plot.id, soil=arguments.get("suelo"),
                      method=irrigation["method"] if irrigation else None,
                      rate_mm_h=irrigation.get("rate_mm_h") if irrigation else None)
    if plot.id == plots[0].id:  # the onboarding answers describe the first plot; new ones copy it
        save_profile(ctx.db, ctx.contact, {key: value for key, value in
                                           (("suelo", arguments.get("suelo")), ("riego", irrigation)) if value})


def confirmation(arguments: dict) -> str:
    parts = []
    if "suelo" in arguments:
        parts.append(f"suelo {lookup_soil(arguments['suelo']).name_es.lower()}")
    if irrigation := arguments.get("riego"):
        rate = irrigation.get("rate_mm_h")
        parts.append(f"riego por {METHOD_NAMES_ES[irrigation['method']]}"
                     + (f" ({decimal(rate)} mm/h)" if rate else ""))
    where = f"el {arguments['lote']}" if arguments.get("lote") else "tu primer lote"
    return f"Cambié {where}: {' y '.join(parts)}."


def _grounded(message: str, arguments: dict) -> bool:
    detected = detect_change(message, arguments.get("lote"))
    return detected is not None and all(detected.get(key) == arguments.get(key) for key in ("suelo", "riego"))


ACTION = Action("corregir_lote", "el productor dice el suelo o el método de riego de un lote", SCHEMA, change_plot,
                confirm=confirmation, grounded=_grounded)
