"""The coach's decisions over the stored data: the runner's fitness, the plan ahead, and what was
planned against what was done. Used by the actions (a new goal or an ache re-plans at once),
the facts (what the model is told) and the weekly job."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import date, timedelta

from backend.plugin_api import Contact, Database
from backend.plugins.running import fitness, store
from backend.plugins.running.chat_log import find_aches
from backend.plugins.running.plans import LEVELS, RACES, Injury, Plan, PlannedRun, RunnerGoal, Week, build_plan
from backend.text import fold

log = logging.getLogger(__name__)

RECENT_WEEKS = 4  # the volume a new plan starts from
FITNESS_WINDOW_DAYS = 42  # runs that say how fit the runner is now


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def goal_of(contact: Contact) -> RunnerGoal:
    """The runner's goal from the profile; a stored value that cannot be used (written by hand or
    before a check existed) falls back to the default with a warning instead of failing the turn."""
    profile = contact.profile
    try:
        race_date = date.fromisoformat(profile["fecha_carrera"]) if profile.get("fecha_carrera") else None
    except (TypeError, ValueError):
        log.warning("profile race date skipped", extra={"contact": contact.id})
        race_date = None
    runs_per_week = profile.get("carreras_por_semana", 3)
    if isinstance(runs_per_week, bool) or not isinstance(runs_per_week, int) or not 1 <= runs_per_week <= 7:
        log.warning("profile runs per week skipped", extra={"contact": contact.id})
        runs_per_week = 3
    race, level = profile.get("objetivo", "fitness"), profile.get("nivel", "beginner")
    if race not in RACES or level not in LEVELS:
        log.warning("profile goal or level skipped", extra={"contact": contact.id})
        race, level = (race if race in RACES else "fitness"), (level if level in LEVELS else "beginner")
    return RunnerGoal(race=race, race_date=race_date, runs_per_week=runs_per_week, level=level)


def current_vdot(connection: Database, contact: Contact) -> float | None:
    """The latest estimate; the onboarding race result when nothing was logged yet."""
    vdot = store.latest_vdot(connection, contact.id)
    if vdot is None and contact.profile.get("marca"):
        vdot = contact.profile["marca"]["vdot"]
    return vdot


def update_fitness(connection: Database, contact: Contact, today: date) -> float | None:
    """Re-estimate VDOT from the last six weeks of logged runs (not assumed ones: they say nothing
    about pace) and keep it when there is one."""
    runs = [r for r in store.runs_between(connection, contact.id, today - timedelta(days=FITNESS_WINDOW_DAYS), today)
            if r.source != "assumed"]
    vdot = fitness.vdot_from_runs([(r.distance_km, r.duration_s, r.rpe) for r in runs])
    if vdot is not None:
        store.save_vdot(connection, contact.id, today, vdot, "runs")
    return current_vdot(connection, contact)


def weekly_km(connection: Database, contact_id: int, today: date, weeks: int = RECENT_WEEKS) -> float:
    start = monday_of(today) - timedelta(weeks=weeks)
    runs = store.runs_between(connection, contact_id, start, monday_of(today) - timedelta(days=1))
    return sum(r.distance_km for r in runs) / weeks


def replan(connection: Database, contact: Contact, today: date) -> Plan:
    """A new rolling plan from today's Monday, with today's goal, fitness and injury."""
    vdot = current_vdot(connection, contact)
    paces = fitness.training_paces(vdot) if vdot else None
    injury = store.open_injury(connection, contact.id)
    plan = build_plan(goal_of(contact), monday_of(today), paces, weekly_km(connection, contact.id, today),
                      Injury(*injury) if injury else None)
    store.save_plan(connection, contact.id, plan_to_json(plan), today)
    return plan


def current_plan(connection: Database, contact: Contact, today: date) -> Plan:
    """The stored plan, or a fresh one when there is none or it no longer covers today."""
    stored = store.load_plan(connection, contact.id)
    if stored is None:
        start_from_profile(connection, contact, today)
    plan = stored_plan(connection, contact.id)
    if plan is None or not plan.weeks or plan.weeks[-1].start + timedelta(days=6) < today:
        plan = replan(connection, contact, today)
    return plan


def start_from_profile(connection: Database, contact: Contact, today: date) -> None:
    """Before the first plan: the onboarding's race result becomes the first fitness reading, and
    an ache the runner mentioned becomes an open injury the plan respects."""
    result = contact.profile.get("marca")
    if result and result.get("vdot") and store.latest_vdot(connection, contact.id) is None:
        store.save_vdot(connection, contact.id, today, result["vdot"], "race")
    areas = find_aches(fold(contact.profile.get("lesiones") or ""))
    if areas and store.open_injury(connection, contact.id) is None:
        store.report_injury(connection, contact.id, areas[0], "ache", today)


def planned_between(plan: Plan, first: date, last: date) -> list[PlannedRun]:
    return [run for week in plan.weeks for run in week.runs
            if first <= run.day <= last and run.kind not in ("rest", "cross_training")]


# --- plans as JSON (stored in running_plans) -------------------------------------------------------

def plan_to_json(plan: Plan) -> str:
    return json.dumps(asdict(plan), default=lambda value: value.isoformat(), ensure_ascii=False)


def stored_plan(connection: Database, contact_id: int) -> Plan | None:
    """The runner's stored plan; None when there is none or it cannot be read (then a new one
    is made: an unreadable plan must not fail the runner's every message)."""
    stored = store.load_plan(connection, contact_id)
    if stored is None:
        return None
    try:
        return plan_from_json(stored)
    except (ValueError, KeyError, TypeError, AttributeError) as problem:
        log.warning("stored plan skipped: it cannot be read", extra={"contact": contact_id, "error": str(problem)[:200]})
        return None


def plan_from_json(text: str) -> Plan:
    data = json.loads(text)
    return Plan(weeks=tuple(
        Week(start=date.fromisoformat(w["start"]), phase=w["phase"], volume_km=w["volume_km"], cutback=w["cutback"],
             runs=tuple(PlannedRun(**{**r, "day": date.fromisoformat(r["day"])}) for r in w["runs"]))
        for w in data["weeks"]))
