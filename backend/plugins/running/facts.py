"""What the model is told about a runner, computed: today's session, paces, volume, fitness,
injury and goal. The model phrases these; it never works them out ("¿a qué ritmo hago el
tempo?" is answered from `ritmos`, "¿cuánto corrí este mes?" from `este_mes`)."""
from __future__ import annotations

from datetime import date, timedelta


from backend.plugin_api import Contact, Database
from backend.plugins.running import coach, fitness, store
from backend.plugins.running.plans import todays_run
from backend.plugins.running.profile import GOAL_NAMES_ES
from backend.spanish import day_name, km, long_date

QUALITY = {"tempo", "intervals", "repetitions", "marathon_pace", "long", "back_to_back_long"}



def running_facts(db: Database, contact: Contact, today: date | None = None) -> dict:
    today = today or contact.local_today()
    connection = db
    plan = coach.current_plan(connection, contact, today)
    facts = {"hoy": day_name(today), "objetivo": _goal(contact, today)}
    facts["entrenamiento_hoy"] = _session(todays_run(plan, today))
    tomorrow = todays_run(plan, today + timedelta(days=1))
    facts["entrenamiento_manana"] = _session(tomorrow)
    facts["si_esta_cansado"] = _when_tired(tomorrow)
    facts["plan_semana"] = _week(plan, today)
    goal = coach.goal_of(contact)
    if goal.race_date and goal.race_date >= today:
        facts["semanas_para_carrera"] = (goal.race_date - today).days // 7
        facts["dias_para_carrera"] = (goal.race_date - today).days
    vdot = coach.current_vdot(connection, contact)
    if vdot:
        facts["vdot"] = round(vdot, 1)
        facts["ritmos"] = _paces(fitness.training_paces(vdot))
        facts["tiempos_posibles"] = {race: f"{fitness.format_duration(seconds)} "
                                           f"({fitness.format_pace(seconds * 1000 / fitness.RACES_M[race])})"
                                     for race, seconds in fitness.equivalent_races(vdot).items()}
    facts.update(_volume(connection, contact, today))
    injury = store.open_injury(connection, contact.id)
    if injury:
        area, severity, since = injury
        facts["lesion"] = f"{'lesión' if severity == 'injury' else 'molestia'} en {area} desde el {day_name(since)}; " \
                          "el plan está aliviado hasta que diga que pasó"
    return facts


def _goal(contact: Contact, today: date) -> str:
    goal = coach.goal_of(contact)
    text = GOAL_NAMES_ES.get(goal.race, goal.race)
    if goal.race_date:
        weeks = (goal.race_date - today).days // 7
        text += f" el {long_date(goal.race_date)} (faltan {weeks} semanas)"
    return text


def _session(run) -> str:
    if run is None or run.kind == "rest":
        return "descanso"
    return run.description_es


def _week(plan, today: date) -> list[str]:
    """This week, Monday to Sunday: "lunes 30 de noviembre: descanso"."""
    monday = coach.monday_of(today)
    return [f"{day_name(day)}: {_session(todays_run(plan, day))}"
            for day in (monday + timedelta(days=n) for n in range(7))]


def _when_tired(tomorrow) -> str:
    """The coach's rule for "estoy cansado, ¿salto mañana?": protect the quality days, not the
    easy ones; a hard session after a tired day becomes easy running or rest."""
    if tomorrow is None or tomorrow.kind == "rest":
        return "Mañana ya es descanso: descansa bien."
    if tomorrow.kind in QUALITY:
        return ("Si estás cansado, cambia la sesión de mañana por 30 minutos suaves o descansa; "
                "haremos la sesión fuerte cuando estés recuperado.")
    return "Si estás cansado, puedes descansar mañana: es una sesión suave y no pasa nada por saltarla."


def _paces(paces: fitness.TrainingPaces) -> dict:
    return {"suave": f"{fitness.format_pace(paces.easy_min_s)[:-3]}–{fitness.format_pace(paces.easy_max_s)}",
            "maraton": fitness.format_pace(paces.marathon_s),
            "umbral_tempo": fitness.format_pace(paces.threshold_s),
            "intervalos": fitness.format_pace(paces.interval_s),
            "repeticiones": f"{fitness.format_pace(paces.repetition_s)} ({fitness.format_duration(paces.repetition_400m_s)} "
                            "cada 400 m)"}


def _total(runs) -> str:
    return f"{km(sum(r.distance_km for r in runs))} en {len(runs)} carrera{'' if len(runs) == 1 else 's'}"


def _volume(connection, contact: Contact, today: date) -> dict:
    month = store.runs_between(connection, contact.id, today.replace(day=1), today)
    week = store.runs_between(connection, contact.id, coach.monday_of(today), today)
    facts = {"este_mes": _total(month), "esta_semana": _total(week)}
    logged = [r for r in store.runs_between(connection, contact.id, today - timedelta(days=30), today)
              if r.source != "assumed"]
    if logged:
        last = logged[-1]
        facts["ultima_carrera"] = (f"{km(last.distance_km)} en {fitness.format_duration(last.duration_s)} "
                                   f"({fitness.format_pace(last.pace_s_per_km)}) el {day_name(last.day)}")
    return facts
