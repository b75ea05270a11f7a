"""What the runner can change by chat, as actions with a schema, a confirmation and a grounding
check, plus `detect()`: the same actions recognized by code in the runner's own words, so a run
is logged even when a small model only answers "¡bien hecho!".

- registrar_carrera: "corrí 10 km en 55 min, me sentí cansado, me duele la rodilla"
- cambiar_objetivo: "ahora quiero correr un maratón en abril"
- reportar_molestia: "me lesioné la rodilla" / "me duele el tobillo"
- molestia_superada: "ya no me duele la rodilla"
Each change re-plans at once, in the same transaction as the change.
"""
from __future__ import annotations

import re
from datetime import date

from backend.contacts import Contact, save_profile
from backend.plugins.base import Action, ActionContext, ActionRefused
from backend.plugins.running import coach, fitness, store
from backend.plugins.running.chat_log import find_aches, parse_run_message
from backend.plugins.running.profile import GOAL_NAMES_ES, find_date, find_goal
from backend.plugins.running.run_record import InvalidRun, RunRecord, validate_run
from backend.spanish import km, long_date
from backend.text import fold

GOALS = ["5K", "10K", "half", "marathon", "ultra", "fitness", "sprint"]
LOG_RUN = {
    "type": "object",
    "properties": {
        "distancia_km": {"type": "number"},
        "duracion_min": {"type": "number"},
        "esfuerzo": {"type": "integer", "enum": list(range(1, 11))},
        "animo": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
        "molestias": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 5},
        "dia": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    },
    "required": ["distancia_km", "duracion_min"],
    "additionalProperties": False,
}
NEW_GOAL = {
    "type": "object",
    "properties": {"objetivo": {"type": "string", "enum": GOALS},
                   "fecha": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}},
    "required": ["objetivo"],
    "additionalProperties": False,
}
ACHE = {
    "type": "object",
    "properties": {"zona": {"type": "string", "minLength": 2, "maxLength": 40},
                   "gravedad": {"type": "string", "enum": ["molestia", "lesion"]}},
    "required": ["zona", "gravedad"],
    "additionalProperties": False,
}
NOTHING = {"type": "object", "properties": {}, "additionalProperties": False}
INJURY_WORDS = re.compile(r"\b(lesion\w*|me lastime|esguince|desgarr\w*|rotura|fractura|tendinitis|fascitis)\b")
RECOVERED = re.compile(r"\b(ya no me duele|ya no tengo dolor|ya estoy bien|me recupere|ya me recupere|"
                       r"se me paso|ya paso|estoy recuperad[oa]|ya sane|sin dolor ya)\b")
NEW_GOAL_WORDS = re.compile(r"\b(quiero correr|quiero preparar|mi objetivo|nuevo objetivo|me inscribi|voy a correr|"
                            r"ahora quiero|cambiar (?:mi|el) objetivo|preparar(?:me)? para)\b")
TOLERANCE = 0.02  # the model's numbers may be rounded; the user's words decide


# --- registrar_carrera ------------------------------------------------------------------------------

def run_from_arguments(arguments: dict, today: date) -> RunRecord:
    day = date.fromisoformat(arguments["dia"]) if arguments.get("dia") else today
    return RunRecord(day=day, distance_km=float(arguments["distancia_km"]),
                     duration_s=float(arguments["duracion_min"]) * 60, rpe=arguments.get("esfuerzo"),
                     mood=arguments.get("animo"), aches=tuple(arguments.get("molestias", ())), source="chat")


def log_run(ctx: ActionContext, arguments: dict) -> None:
    today = ctx.contact.local_today()
    try:
        run = validate_run(run_from_arguments(arguments, today), today)
    except (InvalidRun, ValueError) as problem:
        raise ActionRefused(f"No registré esa carrera: {problem}") from None
    connection = ctx.db.conn
    store.save_run(connection, ctx.contact.id, run)
    for area in run.aches:
        store.report_injury(connection, ctx.contact.id, area, "ache", run.day)
    if run.aches:
        coach.replan(connection, ctx.contact, today)


def confirm_run(arguments: dict) -> str:
    distance, seconds = float(arguments["distancia_km"]), float(arguments["duracion_min"]) * 60
    text = (f"Registré tu carrera: {km(distance)} en {fitness.format_duration(seconds)} "
            f"({fitness.format_pace(seconds / distance)}).")
    if arguments.get("molestias"):
        text += f" Anoté la molestia en {', '.join(arguments['molestias'])} y aliviaré tu plan."
    return text


def run_is_in_message(message: str, arguments: dict) -> bool:
    """The distance and the time the model gives are the ones the runner wrote."""
    said = parse_run_message(message, date.today())
    if said is None:
        return False
    return (abs(said.distance_km - arguments["distancia_km"]) <= TOLERANCE * said.distance_km
            and abs(said.duration_s - arguments["duracion_min"] * 60) <= TOLERANCE * said.duration_s)


def run_arguments(run: RunRecord) -> dict:
    arguments = {"distancia_km": round(run.distance_km, 2), "duracion_min": round(run.duration_s / 60, 2),
                 "dia": run.day.isoformat()}
    if run.rpe:
        arguments["esfuerzo"] = run.rpe
    if run.mood:
        arguments["animo"] = run.mood
    if run.aches:
        arguments["molestias"] = list(run.aches)
    return arguments


# --- cambiar_objetivo -------------------------------------------------------------------------------

def change_goal(ctx: ActionContext, arguments: dict) -> None:
    today = ctx.contact.local_today()
    race_date = arguments.get("fecha")
    if race_date and not today < date.fromisoformat(race_date) <= date(today.year + 2, 12, 31):
        raise ActionRefused("No cambié tu objetivo: la fecha de la carrera debe estar en los próximos dos años.")
    save_profile(ctx.db, ctx.contact, {"objetivo": arguments["objetivo"], "fecha_carrera": race_date})
    coach.replan(ctx.db.conn, ctx.contact, today)


def confirm_goal(arguments: dict) -> str:
    text = f"Tu nuevo objetivo: {GOAL_NAMES_ES[arguments['objetivo']]}"
    if arguments.get("fecha"):
        text += f" el {long_date(date.fromisoformat(arguments['fecha']))}"
    return text + ". Ajusté tu plan."


def goal_is_in_message(message: str, arguments: dict) -> bool:
    return find_goal(message) == arguments["objetivo"]


def goal_arguments(message: str, today: date) -> dict | None:
    folded = fold(message)
    goal = find_goal(folded)
    if goal is None or not NEW_GOAL_WORDS.search(folded):
        return None
    arguments = {"objetivo": goal}
    race_date = find_date(folded, today)
    if race_date is not None and race_date > today:
        arguments["fecha"] = race_date.isoformat()
    return arguments


# --- reportar_molestia / molestia_superada ---------------------------------------------------------

def report_ache(ctx: ActionContext, arguments: dict) -> None:
    today = ctx.contact.local_today()
    severity = "injury" if arguments["gravedad"] == "lesion" else "ache"
    store.report_injury(ctx.db.conn, ctx.contact.id, arguments["zona"], severity, today)
    coach.replan(ctx.db.conn, ctx.contact, today)


def confirm_ache(arguments: dict) -> str:
    what = "lesión" if arguments["gravedad"] == "lesion" else "molestia"
    return (f"Anoté tu {what} en {arguments['zona']}: bajé la intensidad y el volumen de tu plan hasta que me "
            "digas que ya pasó.")


def ache_is_in_message(message: str, arguments: dict) -> bool:
    return fold(arguments["zona"]) in [fold(area) for area in find_aches(fold(message))]


def ache_arguments(message: str) -> dict | None:
    folded = fold(message)
    areas = find_aches(folded)
    if not areas:
        return None
    return {"zona": areas[0], "gravedad": "lesion" if INJURY_WORDS.search(folded) else "molestia"}


def recover(ctx: ActionContext, arguments: dict) -> None:
    today = ctx.contact.local_today()
    if not store.resolve_injury(ctx.db.conn, ctx.contact.id, today):
        raise ActionRefused("¡Qué bueno que estés bien! No tenía ninguna molestia anotada.")
    coach.replan(ctx.db.conn, ctx.contact, today)


def recovery_is_in_message(message: str, arguments: dict) -> bool:
    return bool(RECOVERED.search(fold(message)))


# --- detection --------------------------------------------------------------------------------------

def detect(message: str, contact: Contact) -> dict[str, dict]:
    """Actions the runner's words make certain, whatever the model asks for."""
    today = contact.local_today()
    run = parse_run_message(message, today)
    if run is not None:  # its aches travel with the run
        return {"registrar_carrera": run_arguments(run)}
    if RECOVERED.search(fold(message)):
        return {"molestia_superada": {}}
    detected = {}
    if (goal := goal_arguments(message, today)) is not None:
        detected["cambiar_objetivo"] = goal
    if (ache := ache_arguments(message)) is not None:
        detected["reportar_molestia"] = ache
    return detected


ACTIONS = {
    "registrar_carrera": Action("registrar_carrera", "registra una carrera que el corredor hizo", LOG_RUN, log_run,
                                confirm=confirm_run, grounded=run_is_in_message),
    "cambiar_objetivo": Action("cambiar_objetivo", "cambia la carrera objetivo y su fecha", NEW_GOAL, change_goal,
                               confirm=confirm_goal, grounded=goal_is_in_message),
    "reportar_molestia": Action("reportar_molestia", "anota una molestia o lesión", ACHE, report_ache,
                                confirm=confirm_ache, grounded=ache_is_in_message),
    "molestia_superada": Action("molestia_superada", "la molestia o lesión ya pasó", NOTHING, recover,
                                confirm=lambda arguments: "¡Qué bueno! Volvemos a tu plan normal.",
                                grounded=recovery_is_in_message),
}
