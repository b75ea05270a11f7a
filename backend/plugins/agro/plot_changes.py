"""Correcting a plot by chat: «el lote 2 es de suelo arenoso», «en el lote 2 riego por aspersión
8 mm/h», «mi chacra es de secano». A plot added by chat takes the first plot's soil and irrigation;
this is how the producer gives it its own. Code reads the change with the parsers onboarding uses;
the producer is asked («¿Cambio el lote 2 a suelo arenoso?»), it is applied after «sí» and read
back, and «deshacer» puts back the soil and irrigation the plot had."""
from __future__ import annotations

import re

from backend.plugin_api import core
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
        try:
            change["riego"] = parse_irrigation(folded)
        except ValueError:  # «goteo 99999999 mm/h»: no change to make; its figures are asked for again
            pass
    if not change:
        return None
    return {"lote": plot_name, **change} if plot_name else change


def _plot(ctx: ActionContext, arguments: dict) -> tuple[store.Plot, bool]:
    """The plot to change, and whether it is the first one (the onboarding answers describe it)."""
    plots = producer_plots(ctx.db, ctx.contact)
    if not plots:
        raise ActionRefused("Aún no tienes un lote registrado.")
    named = arguments.get("lote")
    plot = find_plot(plots, named)
    if plot is None:
        raise ActionRefused(f"No cambié nada: no tienes un «{named}». Tus lotes: {', '.join(p.name for p in plots)}.")
    return plot, plot.id == plots[0].id


def check_change(ctx: ActionContext, arguments: dict) -> dict:
    _plot(ctx, arguments)
    return dict(arguments)


def change_plot(ctx: ActionContext, arguments: dict) -> dict:
    """Returns the plot's previous soil and irrigation (and the onboarding answers it changed)."""
    plot, first = _plot(ctx, arguments)
    connection = ctx.db
    soil, irrigation = arguments.get("suelo"), arguments.get("riego")
    columns = (("soil",) if soil else ()) + (("method", "rate_mm_h") if irrigation else ())
    undo: dict = {"plot": plot.id, "previous": store.plot_state(connection, plot.id, columns)}
    store.update_plot(connection, plot.id, soil=soil, method=irrigation["method"] if irrigation else None,
                      rate_mm_h=irrigation.get("rate_mm_h") if irrigation else None)
    if first:  # the onboarding answers describe the first plot; new ones copy it
        answers = {key: value for key, value in (("suelo", soil), ("riego", irrigation)) if value}
        profile = ctx.contact.profile
        undo["profile"] = {key: profile[key] for key in answers if key in profile}
        undo["profile_added"] = [key for key in answers if key not in profile]
        core.save_profile(ctx.db, ctx.contact, answers)
    return undo


def undo_change(ctx: ActionContext, undo: dict) -> None:
    store.restore_plot(ctx.db, ctx.contact.id, undo["plot"], undo["previous"])
    if "profile" in undo:
        added = set(undo.get("profile_added", ()))
        ctx.contact.profile = {key: value for key, value in ctx.contact.profile.items() if key not in added}
        core.save_profile(ctx.db, ctx.contact, undo["profile"])


def _change(arguments: dict) -> str:
    parts = []
    if "suelo" in arguments:
        parts.append(f"suelo {lookup_soil(arguments['suelo']).name_es.lower()}")
    if irrigation := arguments.get("riego"):
        rate = irrigation.get("rate_mm_h")
        parts.append(f"riego por {METHOD_NAMES_ES[irrigation['method']]}"
                     + (f" ({decimal(rate)} mm/h)" if rate else ""))
    return " y ".join(parts)


def _which(arguments: dict) -> str:
    return f"el {arguments['lote']}" if arguments.get("lote") else "tu primer lote"


def question(arguments: dict) -> str:
    return f"¿Cambio {_which(arguments)} a {_change(arguments)}?"


def confirmation(arguments: dict) -> str:
    return f"Cambié {_which(arguments)}: {_change(arguments)}."


ACTION = Action("corregir_lote", "el productor dice el suelo o el método de riego de un lote", SCHEMA, change_plot,
                confirm=confirmation, ask=question, prepare=check_change, undo=undo_change)
