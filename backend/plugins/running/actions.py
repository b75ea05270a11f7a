"""What the runner can change by chat, as actions with a schema, a question and a read-back, plus
`detect()`: the changes read by code in the runner's own words (never the model's choice).

- registrar_carrera: "corrí 10 km en 55 min, me sentí cansado, me duele la rodilla" (carries its own
  figures: logged at once, without asking)
- cambiar_objetivo: "ahora quiero correr un maratón en abril" (asked first; an impossible date is refused
  before asking)
- reportar_molestia: "me lesioné la rodilla" / "me duele el tobillo" (asked first)
- molestia_superada: "ya no me duele la rodilla" (asked first, naming the open injury; refused before
  asking when none is open)
A new goal or an injury change re-plans at once, in the same transaction as the change (a run without
aches leaves the plan alone). Each `run` returns what its `undo` needs ("deshacer" right after): the
rows it added or the values it replaced; the undo puts them back and re-plans the same way.
"""
from __future__ import annotations

import re
from datetime import date

from backend.plugin_api import Contact, core
from backend.plugins.base import Action, ActionContext, ActionRefused
from backend.plugins.running import coach, fitness, store
from backend.plugins.running.chat_log import find_aches, parse_run_message
from backend.plugins.running.profile import GOAL_NAMES_ES, find_date, find_goal, find_runs_per_week
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
        "dia": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"},
    },
    "required": ["distancia_km", "duracion_min"],
    "additionalProperties": False,
}
NEW_GOAL = {
    "type": "object",
    "properties": {"objetivo": {"type": "string", "enum": GOALS},
                   "fecha": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"}},
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
# molestia_superada: nothing from the runner; `prepare` adds the open injury's area for the question.
RECOVERY = {"type": "object", "properties": {"zona": {"type": "string", "minLength": 1, "maxLength": 40}},
            "additionalProperties": False}
INJURY_WORDS = re.compile(r"\b(lesion\w*|me lastime|esguince|desgarr\w*|rotura|fractura|tendinitis|fascitis)\b")
RECOVERED = re.compile(r"\b(ya no me duele|ya no tengo dolor|ya estoy bien|me recupere|ya me recupere|"
                       r"se me paso|ya paso|estoy recuperad[oa]|ya sane|sin dolor ya)\b")
NEW_GOAL_WORDS = re.compile(r"\b(quiero correr|quiero preparar|mi objetivo|nuevo objetivo|me inscribi|voy a correr|"
                            r"ahora quiero|cambiar (?:mi|el) objetivo|preparar(?:me)? para)\b")
ARTICLES = {"rodilla": "la", "pantorrilla": "la", "cadera": "la", "espalda": "la", "tibia": "la", "ingle": "la",
            "pierna": "la", "cintilla": "la", "planta": "la", "fascia": "la", "tobillo": "el", "gemelo": "el",
            "soleo": "el", "talon": "el", "cuadriceps": "el", "gluteo": "el", "aductor": "el", "abductor": "el",
            "psoas": "el", "muslo": "el", "pie": "el", "aquiles": "el", "tendon": "el", "hombro": "el",
            "cuello": "el", "costado": "el", "empeine": "el", "isquios": "los", "isquiotibiales": "los"}
SEVERITY_WORDS = {"molestia": "ache", "lesion": "injury"}


# --- registrar_carrera ------------------------------------------------------------------------------

def run_from_arguments(arguments: dict, today: date) -> RunRecord:
    day = date.fromisoformat(arguments["dia"]) if arguments.get("dia") else today
    return RunRecord(day=day, distance_km=float(arguments["distancia_km"]),
                     duration_s=float(arguments["duracion_min"]) * 60, rpe=arguments.get("esfuerzo"),
                     mood=arguments.get("animo"), aches=tuple(arguments.get("molestias", ())), source="chat")


def log_run(ctx: ActionContext, arguments: dict) -> dict:
    """Writes the run's row (none when the same run is already stored) and, for its aches, opens an
    injury (or re-describes the open one) and re-plans. No VDOT row: fitness is re-estimated by the
    weekly job and the Garmin import, not by a run told by chat."""
    today = ctx.contact.local_today()
    try:
        run = validate_run(run_from_arguments(arguments, today), today)
    except (InvalidRun, ValueError) as problem:
        raise ActionRefused(f"No registré esa carrera: {problem}") from None
    connection = ctx.db
    undo = {"run_id": store.add_run(connection, ctx.contact.id, run), "ache": None}
    if run.aches:
        undo["ache"] = note_aches(ctx, list(run.aches), "ache", run.day)
        coach.replan(connection, ctx.contact, today)
    return undo


def unlog_run(ctx: ActionContext, undo: dict) -> None:
    connection = ctx.db
    if undo.get("run_id") is not None:
        store.delete_run(connection, ctx.contact.id, undo["run_id"])
    if undo.get("ache"):
        take_back_ache(ctx, undo["ache"])
        coach.replan(connection, ctx.contact, ctx.contact.local_today())


def confirm_run(arguments: dict) -> str:
    distance, seconds = float(arguments["distancia_km"]), float(arguments["duracion_min"]) * 60
    text = (f"Registré tu carrera: {km(distance)} en {fitness.format_duration(seconds)} "
            f"({fitness.format_pace(seconds / distance)}).")
    if arguments.get("molestias"):
        text += f" Anoté la molestia en {', '.join(arguments['molestias'])} y aliviaré tu plan."
    return text


def ask_run(arguments: dict) -> str:
    """A run told in a question («¿corrí 10 km en 50 min?»): asked before it is logged."""
    distance, seconds = float(arguments["distancia_km"]), float(arguments["duracion_min"]) * 60
    return (f"¿Registro una carrera de {km(distance)} en {fitness.format_duration(seconds)} "
            f"({fitness.format_pace(seconds / distance)})? Responde «sí» o «no».")


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

GOAL_FIELDS = ("objetivo", "fecha_carrera")


def check_goal(ctx: ActionContext, arguments: dict) -> dict:
    """Refuses a race date that is past or too far ahead, before the runner is asked about it."""
    today = ctx.contact.local_today()
    race_date = arguments.get("fecha")
    if race_date and not today < date.fromisoformat(race_date) <= date(today.year + 2, 12, 31):
        raise ActionRefused("No cambié tu objetivo: la fecha de la carrera debe estar en los próximos dos años.")
    return arguments


def change_goal(ctx: ActionContext, arguments: dict) -> dict:
    """Returns the goal it replaced (a field the profile did not have is left out)."""
    check_goal(ctx, arguments)
    before = {name: ctx.contact.profile[name] for name in GOAL_FIELDS if name in ctx.contact.profile}
    core.save_profile(ctx.db, ctx.contact, {"objetivo": arguments["objetivo"], "fecha_carrera": arguments.get("fecha")})
    coach.replan(ctx.db, ctx.contact, ctx.contact.local_today())
    return {"before": before}


def restore_goal(ctx: ActionContext, undo: dict) -> None:
    before = undo["before"]
    # a field the profile did not have goes away again; the others get their old values, in place
    ctx.contact.profile = {name: value for name, value in ctx.contact.profile.items()
                           if name not in GOAL_FIELDS or name in before}
    core.save_profile(ctx.db, ctx.contact, before)
    coach.replan(ctx.db, ctx.contact, ctx.contact.local_today())


def ask_goal(arguments: dict) -> str:
    text = f"¿Cambio tu objetivo a {GOAL_NAMES_ES[arguments['objetivo']]}"
    if arguments.get("fecha"):
        text += f" el {long_date(date.fromisoformat(arguments['fecha']))}"
    return text + "?"


def confirm_goal(arguments: dict) -> str:
    text = f"Tu nuevo objetivo: {GOAL_NAMES_ES[arguments['objetivo']]}"
    if arguments.get("fecha"):
        text += f" el {long_date(date.fromisoformat(arguments['fecha']))}"
    return text + ". Ajusté tu plan."


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


# --- cambiar_dias -------------------------------------------------------------------------------------

RUN_DAYS = {"type": "object", "properties": {"dias": {"type": "integer", "minimum": 2, "maximum": 7}},
            "required": ["dias"], "additionalProperties": False}
RUN_DAYS_WORDS = re.compile(r"\b(ahora|cambia\w*|ya no|desde ahora|puedo|solo puedo|mejor|quiero|prefiero)\b")


def days_arguments(message: str) -> dict | None:
    """«ahora corro 5 días», «cambia a 4 días por semana»: how many days the runner now runs."""
    folded = fold(message)
    if "?" in message or not RUN_DAYS_WORDS.search(folded):
        return None
    days = find_runs_per_week(folded)
    if days is None and (match := re.search(r"\b([2-7])\s+dias(?:\s+(?:por|a la|x)\s+semana)?\b", folded)):
        days = int(match[1])
    return {"dias": days} if days else None


def change_days(ctx: ActionContext, arguments: dict) -> dict:
    """Returns the runs per week it replaced and their source (answered or a default)."""
    before = {"value": ctx.contact.profile.get("carreras_por_semana"),
              "source": ctx.contact.sources.get("carreras_por_semana")}
    core.save_profile(ctx.db, ctx.contact, {"carreras_por_semana": arguments["dias"]})
    coach.replan(ctx.db, ctx.contact, ctx.contact.local_today())
    return {"before": before}


def restore_days(ctx: ActionContext, undo: dict) -> None:
    before = undo["before"]
    if before["value"] is None:
        ctx.contact.profile = {k: v for k, v in ctx.contact.profile.items() if k != "carreras_por_semana"}
        core.save_profile(ctx.db, ctx.contact, {})
    else:
        core.save_profile(ctx.db, ctx.contact, {"carreras_por_semana": before["value"]}, source=before["source"] or "answered")
    coach.replan(ctx.db, ctx.contact, ctx.contact.local_today())


# --- reportar_molestia / molestia_superada ---------------------------------------------------------

def in_area(area: str) -> str:
    """'rodilla' -> 'en la rodilla' (an area the coach does not know keeps no article)."""
    words = fold(area).split()
    if not words or words[0] in ("el", "la", "los", "las", "mi", "mis", "tu", "tus"):
        return f"en {area}"
    article = ARTICLES.get(words[0])
    return f"en {article} {area}" if article else f"en {area}"


def note_aches(ctx: ActionContext, areas: list[str], severity: str, since: date) -> dict:
    """Reports aches (one open injury: each re-describes it) and returns how to take them back: the
    row they opened, or the description they replaced on the injury already open."""
    connection = ctx.db
    before = store.open_injury_row(connection, ctx.contact.id)
    for area in areas:
        injury_id = store.report_injury(connection, ctx.contact.id, area, severity, since)
    if before is None:
        return {"injury_id": injury_id, "opened": True}
    return {"injury_id": injury_id, "opened": False, "area": before["area"], "severity": before["severity"]}


def take_back_ache(ctx: ActionContext, change: dict) -> None:
    connection = ctx.db
    if change["opened"]:
        store.delete_injury(connection, ctx.contact.id, change["injury_id"])
    else:
        store.describe_injury(connection, ctx.contact.id, change["injury_id"], change["area"], change["severity"])


def report_ache(ctx: ActionContext, arguments: dict) -> dict:
    today = ctx.contact.local_today()
    undo = note_aches(ctx, [arguments["zona"]], SEVERITY_WORDS[arguments["gravedad"]], today)
    coach.replan(ctx.db, ctx.contact, today)
    return undo


def unreport_ache(ctx: ActionContext, undo: dict) -> None:
    take_back_ache(ctx, undo)
    coach.replan(ctx.db, ctx.contact, ctx.contact.local_today())


def ask_ache(arguments: dict) -> str:
    what = "lesión" if arguments["gravedad"] == "lesion" else "molestia"
    return f"¿Anoto una {what} {in_area(arguments['zona'])} y alivio tu plan?"


def confirm_ache(arguments: dict) -> str:
    what = "lesión" if arguments["gravedad"] == "lesion" else "molestia"
    return (f"Anoté tu {what} en {arguments['zona']}: bajé la intensidad y el volumen de tu plan hasta que me "
            "digas que ya pasó.")


def ache_arguments(message: str) -> dict | None:
    folded = fold(message)
    areas = find_aches(folded)
    if not areas:
        return None
    return {"zona": areas[0], "gravedad": "lesion" if INJURY_WORDS.search(folded) else "molestia"}


NO_INJURY = "¡Qué bueno que estés bien! No tenía ninguna molestia anotada."


def check_recovery(ctx: ActionContext, arguments: dict) -> dict:
    """Refuses when no injury is open; otherwise names its area, for the question."""
    injury = store.open_injury_row(ctx.db, ctx.contact.id)
    if injury is None:
        raise ActionRefused(NO_INJURY)
    return {"zona": injury["area"]}


def recover(ctx: ActionContext, arguments: dict) -> dict:
    """Closes the open injury and returns its id."""
    today = ctx.contact.local_today()
    resolved = store.resolve_injury(ctx.db, ctx.contact.id, today)
    if not resolved:
        raise ActionRefused(NO_INJURY)
    coach.replan(ctx.db, ctx.contact, today)
    return {"injury_ids": resolved}


def unrecover(ctx: ActionContext, undo: dict) -> None:
    store.reopen_injuries(ctx.db, ctx.contact.id, undo["injury_ids"])
    coach.replan(ctx.db, ctx.contact, ctx.contact.local_today())


def ask_recovery(arguments: dict) -> str:
    where = f" {in_area(arguments['zona'])}" if arguments.get("zona") else ""
    return f"¿Doy por superada tu molestia{where} y vuelvo a tu plan normal?"


# --- detection --------------------------------------------------------------------------------------

PERSONAL_BEST = re.compile(r"\bmi\s+(?:mejor|marca|record|pr)\b|\bmejor\s+(?:tiempo|marca)\b")
JUST_RAN = re.compile(r"\b(?:hoy|ayer|anoche|acabo de|corri|termine)\b|\besta\s+(?:manana|tarde|noche)\b")


def detect(reading, contact: Contact) -> dict[str, dict]:
    """The changes the runner's words ask for (a Reading: folded, number words as digits)."""
    message = reading.normalized
    today = contact.local_today()
    run = parse_run_message(message, today)
    if run is not None and PERSONAL_BEST.search(message) and not JUST_RAN.search(message):
        run = None  # «mi mejor 10k es 50 minutos»: the runner's mark, not a run to log
    if run is not None:  # its aches travel with the run
        return {"registrar_carrera": run_arguments(run)}
    if RECOVERED.search(fold(message)):
        return {"molestia_superada": {}}
    detected = {}
    if (goal := goal_arguments(message, today)) is not None:
        detected["cambiar_objetivo"] = goal
    if (ache := ache_arguments(message)) is not None:
        detected["reportar_molestia"] = ache
    if (days := days_arguments(message)) is not None:
        detected["cambiar_dias"] = days
    return detected


ACTIONS = {
    "registrar_carrera": Action("registrar_carrera", "registra una carrera que el corredor hizo", LOG_RUN, log_run,
                                confirm=confirm_run, ask=ask_run,
                                asks_first=lambda arguments: False,  # its distance and time are required
                                undo=unlog_run),
    "cambiar_objetivo": Action("cambiar_objetivo", "cambia la carrera objetivo y su fecha", NEW_GOAL, change_goal,
                               confirm=confirm_goal, ask=ask_goal,
                               prepare=check_goal, undo=restore_goal),
    "cambiar_dias": Action("cambiar_dias", "cambia cuántos días por semana corre", RUN_DAYS, change_days,
                           confirm=lambda arguments: f"Listo: ahora tu plan tiene {arguments['dias']} días por semana.",
                           ask=lambda arguments: f"¿Cambio tu plan a {arguments['dias']} días por semana?",
                           undo=restore_days),
    "reportar_molestia": Action("reportar_molestia", "anota una molestia o lesión", ACHE, report_ache,
                                confirm=confirm_ache, ask=ask_ache,
                                undo=unreport_ache),
    "molestia_superada": Action("molestia_superada", "la molestia o lesión ya pasó", RECOVERY, recover,
                                confirm=lambda arguments: "¡Qué bueno! Volvemos a tu plan normal.",
                                ask=ask_recovery, prepare=check_recovery,
                                undo=unrecover),
}
