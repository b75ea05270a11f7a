"""What a runner's message can mean, and the questions answered from the coach's computed facts
(running_facts) with no model call: paces, predictions, VDOT, sessions, volume, the race."""
from __future__ import annotations

import re
from datetime import date

from backend.plugins.running.chat_log import BODY, find_aches, parse_run_message
from backend.plugins.running.intent_examples import EXAMPLES
from backend.plugins.running.profile import GOAL_NAMES_ES, find_goal
from backend.spanish import decimal
from backend.understanding.intents import ACTION, FACT, OPEN, OPEN_QUESTION, Intent

NO_FITNESS = ("Aún no tengo tus ritmos: cuéntame una carrera reciente (por ejemplo «corrí 5 km en 25 min») "
              "y los calculo.")
RACE_NAMES = {"5K": "un 5K", "10K": "un 10K", "half": "una media maratón", "marathon": "una maratón"}


def _pick(reading, *variants: str) -> str:
    """A different wording on different turns, so the coach does not sound like a form."""
    return variants[reading.turn % len(variants)]


def _pace(key: str, name: str):
    def answer(facts: dict, reading) -> str:
        pace = facts.get("ritmos", {}).get(key)
        if pace is None:
            return NO_FITNESS
        return _pick(reading, f"Tu ritmo {name} es {pace}.", f"Para el ritmo {name}: {pace}.",
                     f"Corre el ritmo {name} a {pace}.")
    return answer


def all_paces(facts: dict, reading) -> str:
    paces = facts.get("ritmos")
    if not paces:
        return NO_FITNESS
    return (f"Tus ritmos (VDOT {decimal(facts['vdot'])}): suave {paces['suave']}, maratón {paces['maraton']}, "
            f"umbral o tempo {paces['umbral_tempo']}, intervalos {paces['intervalos']}, "
            f"repeticiones {paces['repeticiones']}.")


def prediction(facts: dict, reading) -> str:
    times = facts.get("tiempos_posibles")
    if not times:
        return NO_FITNESS
    race = reading.slots.get("carrera")
    if race in times:
        return _pick(reading, f"Con tu forma de hoy podrías correr {RACE_NAMES[race]} en {times[race]}.",
                     f"Para {RACE_NAMES[race]}, tu tiempo posible es {times[race]}.")
    return (f"Con tu forma de hoy: 5K en {times['5K']}, 10K en {times['10K']}, media maratón en {times['half']} "
            f"y maratón en {times['marathon']}.")


def vdot(facts: dict, reading) -> str:
    if not facts.get("vdot"):
        return NO_FITNESS
    times = facts["tiempos_posibles"]
    return (f"Tu VDOT es {decimal(facts['vdot'])}. Es tu nivel de forma en el sistema de Jack Daniels, calculado "
            f"de tus carreras: de él salen tus ritmos y tus tiempos posibles (un 10K en "
            f"{times['10K'].split(' (')[0]}). "
            "Sube cuando corres más rápido con el mismo esfuerzo.")


def _session(key: str, day: str):
    def answer(facts: dict, reading) -> str | None:
        session = facts.get(key)
        if not session:
            return None
        if session == "descanso":
            return _pick(reading, f"{day} toca descanso.", f"{day} descansas: es parte del plan.")
        return _pick(reading, f"{day} toca: {session}.", f"{day} te toca {session}.")
    return answer


def week_plan(facts: dict, reading) -> str | None:
    days = facts.get("plan_semana")
    return "Tu semana:\n" + "\n".join(f"• {day}" for day in days) if days else None


def _volume(key: str, lead: str):
    def answer(facts: dict, reading) -> str | None:
        volume = facts.get(key)
        return f"{lead} {volume}." if volume else None
    return answer


def last_run(facts: dict, reading) -> str:
    run = facts.get("ultima_carrera")
    if not run:
        return "No tengo carreras tuyas anotadas en los últimos 30 días. Cuéntame: «corrí 8 km en 45 min»."
    return _pick(reading, f"Tu última carrera: {run}.", f"Lo último que anoté: {run}.")


def weeks_to_race(facts: dict, reading) -> str:
    if "dias_para_carrera" not in facts:
        return (f"Tu objetivo es {facts.get('objetivo', 'salud')}, sin fecha de carrera. Si tienes una, dime "
                "«quiero correr un 10K el 15 de marzo».")
    weeks, days = facts["semanas_para_carrera"], facts["dias_para_carrera"]
    return f"Tu objetivo: {facts['objetivo']}. Quedan {days} días ({weeks} semanas)."


def tired(facts: dict, reading) -> str | None:
    return facts.get("si_esta_cansado")


FACTS = {  # name -> (description for the classifier, answer)
    "ritmo_suave": ("ritmo suave, de rodaje o fondo", _pace("suave", "suave")),
    "ritmo_maraton": ("ritmo de maratón (M) para entrenar", _pace("maraton", "de maratón")),
    "ritmo_umbral": ("ritmo de tempo o umbral", _pace("umbral_tempo", "de tempo (umbral)")),
    "ritmo_intervalos": ("ritmo de intervalos o series largas", _pace("intervalos", "de intervalos")),
    "ritmo_repeticiones": ("ritmo de repeticiones o series cortas", _pace("repeticiones", "de repeticiones")),
    "ritmos": ("todos sus ritmos o zonas", all_paces),
    "prediccion": ("tiempo o ritmo posible en una carrera", prediction),
    "vdot": ("su VDOT o nivel de forma", vdot),
    "sesion_hoy": ("qué entrenamiento toca hoy", _session("entrenamiento_hoy", "Hoy")),
    "sesion_manana": ("qué entrenamiento toca mañana", _session("entrenamiento_manana", "Mañana")),
    "plan_semana": ("el plan de esta semana", week_plan),
    "volumen_semana": ("cuántos km corrió esta semana", _volume("esta_semana", "Esta semana llevas")),
    "volumen_mes": ("cuántos km corrió este mes", _volume("este_mes", "Este mes llevas")),
    "ultima_carrera": ("su última carrera anotada", last_run),
    "semanas_carrera": ("cuánto falta para su carrera", weeks_to_race),
    "cansancio": ("está cansado, si entrena o descansa", tired),
}
ACTIONS = {  # name -> (description, what to ask when the figures are missing)
    "registrar_carrera": ("cuenta una carrera que hizo", "¿Cuántos km corriste y en cuánto tiempo? Por ejemplo "
                                                         "«corrí 8 km en 45 min»."),
    "cambiar_objetivo": ("quiere un nuevo objetivo de carrera", "¿Cuál es tu nuevo objetivo? Por ejemplo «quiero "
                                                                "correr un 10K el 15 de marzo»."),
    "reportar_molestia": ("cuenta un dolor o lesión", "¿Dónde te duele? Por ejemplo «me duele la rodilla»."),
    "molestia_superada": ("ya no le duele, se recuperó", None),
    "cambiar_dias": ("cambia cuántos días por semana corre", "¿Cuántos días por semana quieres correr? Por ejemplo "
                                                             "«ahora corro 4 días»."),
}
INTENTS = [
    *(Intent(name, FACT, description, EXAMPLES[name], answer=answer) for name, (description, answer) in FACTS.items()),
    *(Intent(name, ACTION, description, EXAMPLES[name], missing=missing)
      for name, (description, missing) in ACTIONS.items()),
    Intent(OPEN_QUESTION, OPEN, "otra pregunta de running (comida, zapatillas, estiramientos…)",
           EXAMPLES[OPEN_QUESTION]),
]
MENU = ["tus ritmos («¿a qué ritmo hago el tempo?»)", "tu plan («¿qué toca mañana?»)",
        "tus tiempos posibles («¿en cuánto haría un 10K?»)", "anotar una carrera («corrí 8 km en 45 min»)",
        "una molestia («me duele la rodilla»)", "dudas de running (comida, zapatillas, estiramientos)"]

_ANY_DAY = date(2026, 1, 1)  # slots need no real day: only the day words would
RACE_DISTANCE = re.compile(r"\b(5|10|21|42)\s*(?:k|km|mil)?\b")


def mark_entities(normalized: str) -> str:
    """«me duele la rodilla» -> «me duele la zzona»: one example covers every body part."""
    return BODY.sub("zzona", normalized)


def read_slots(reading, intent: str) -> dict:
    """The figures a message gives for its intent, in the labelled set's terms."""
    text = reading.normalized
    if intent == "registrar_carrera" and (run := parse_run_message(text, _ANY_DAY)) is not None:
        return {"distancia_km": round(run.distance_km, 2), "duracion_min": round(run.duration_s / 60, 2)}
    if intent == "prediccion":
        race = find_goal(text)
        if race not in RACE_NAMES and (match := RACE_DISTANCE.search(text)):
            race = {"5": "5K", "10": "10K", "21": "half", "42": "marathon"}[match[1]]
        return {"carrera": race} if race in RACE_NAMES else {}
    if intent == "cambiar_objetivo" and (goal := find_goal(text) or find_goal(reading.corrected)) in GOAL_NAMES_ES:
        return {"objetivo": goal}
    if intent == "reportar_molestia" and (areas := find_aches(text) or find_aches(reading.corrected)):
        return {"zona": areas[0]}
    return {}

