"""The running actions as the orchestrator calls them, on real SQLite: a report with its own figures
runs at once, the others are prepared (refused before asking when impossible) and asked with their
figures, and "deshacer" right after a run leaves the runner's tables as they were."""
from __future__ import annotations

import json
from datetime import date, timedelta

import jsonschema
import pytest

from backend.contacts import find_contact, save_profile
from backend.plugins.base import ActionContext, ActionRefused
from backend.plugins.running import coach as running_coach
from backend.plugins.running.plugin import PLUGIN
from backend.store.database import transaction
from tests.running.conftest import PHONE, onboard

# table -> the columns compared (all but the timestamps)
RUNNING_TABLES = {
    "running_runs": "id, day, distance_km, duration_s, rpe, mood, aches, notes, source, dedupe_key",
    "running_injuries": "id, area, severity, since, resolved_on",
    "running_fitness": "day, vdot, source",
    "running_plans": "plan, generated_on",
    "running_job_marks": "job, period",
}


@pytest.fixture
def runner(coach):
    onboard(coach)  # a marathoner, 4 days a week, intermediate, no aches, 5K in 19:57
    with transaction(coach.db) as connection:  # the first plan, as the facts of a first question make it
        contact = find_contact(coach.db, PHONE)
        running_coach.current_plan(connection, contact, contact.local_today())
    return coach


def dump(backend) -> dict:
    contact = find_contact(backend.db, PHONE)
    tables = {table: backend.db.execute(f"SELECT {columns} FROM {table} WHERE contact_id = ? ORDER BY 1, 2",
                                        [contact.id]).fetchall()
              for table, columns in RUNNING_TABLES.items()}
    profile = backend.db.execute("SELECT domain, data FROM profiles WHERE contact_id = ?", [contact.id]).fetchone()
    return {**tables, "profile": (profile[0], json.loads(profile[1]))}


def call(backend, name: str, step: str, arguments: dict):
    """One step of an action, in its own transaction, the way the orchestrator runs it."""
    action = PLUGIN.actions[name]
    with transaction(backend.db):
        ctx = ActionContext(db=backend.db, contact=find_contact(backend.db, PHONE))
        return getattr(action, step)(ctx, arguments)


def run_then_undo(backend, name: str, arguments: dict) -> tuple[dict, dict]:
    """The tables after the run, and what the run returned (stored as JSON by the core)."""
    undo_data = call(backend, name, "run", arguments)
    assert undo_data is not None
    undo_data = json.loads(json.dumps(undo_data))
    after_run = dump(backend)
    call(backend, name, "undo", undo_data)
    return after_run, undo_data


def today(backend) -> date:
    return find_contact(backend.db, PHONE).local_today()  # the runner's day, as the actions see it


def open_injuries(backend) -> list[tuple]:
    return backend.db.execute("SELECT area, severity FROM running_injuries WHERE resolved_on IS NULL").fetchall()


def planned_kinds(backend) -> set[str]:
    plan = json.loads(backend.db.execute("SELECT plan FROM running_plans").fetchone()[0])
    return {run["kind"] for week in plan["weeks"] for run in week["runs"]}


QUALITY = {"tempo", "intervals", "repetitions", "marathon_pace"}


# --- registrar_carrera ------------------------------------------------------------------------------

def test_a_run_with_its_figures_runs_without_asking():
    action = PLUGIN.actions["registrar_carrera"]
    assert action.asks_first({"distancia_km": 10, "duracion_min": 55}) is False
    for name in ("cambiar_objetivo", "reportar_molestia", "molestia_superada"):
        assert PLUGIN.actions[name].asks_first({}) is True and PLUGIN.actions[name].ask is not None


def test_undoing_a_run_deletes_its_row(runner):
    before = dump(runner)
    after_run, undo_data = run_then_undo(runner, "registrar_carrera", {"distancia_km": 10, "duracion_min": 55})
    assert [row[2:4] for row in after_run["running_runs"]] == [(10.0, 3300.0)]
    assert after_run["running_plans"] == before["running_plans"]  # a run without aches leaves the plan alone
    assert undo_data["run_id"] == after_run["running_runs"][0][0]
    assert dump(runner) == before


def test_undoing_a_run_with_aches_deletes_the_injury_it_opened_and_replans(runner):
    before = dump(runner)
    after_run, _ = run_then_undo(runner, "registrar_carrera", {"distancia_km": 8, "duracion_min": 45,
                                                               "molestias": ["rodilla", "gemelo"]})
    assert [row[1:3] for row in after_run["running_injuries"]] == [("gemelo", "ache")]
    assert after_run["running_plans"] != before["running_plans"]
    assert dump(runner) == before
    assert planned_kinds(runner) & QUALITY


def test_undoing_a_run_with_an_ache_puts_back_the_injury_already_open(runner):
    call(runner, "reportar_molestia", "run", {"zona": "tobillo", "gravedad": "lesion"})
    before = dump(runner)
    after_run, undo_data = run_then_undo(runner, "registrar_carrera", {"distancia_km": 5, "duracion_min": 30,
                                                                       "molestias": ["rodilla"]})
    assert [row[1:3] for row in after_run["running_injuries"]] == [("rodilla", "injury")]  # the worse one stays
    assert undo_data["ache"]["opened"] is False
    assert dump(runner) == before
    assert open_injuries(runner) == [("tobillo", "injury")]


def test_undoing_a_run_on_an_earlier_day_restores_the_plan_it_changed(runner):
    before = dump(runner)
    last_week = (today(runner) - timedelta(days=7)).isoformat()
    after_run, _ = run_then_undo(runner, "registrar_carrera", {"distancia_km": 21, "duracion_min": 110,
                                                               "dia": last_week, "molestias": ["cadera"]})
    assert after_run["running_runs"][0][1] == last_week
    assert dump(runner) == before


def test_undoing_a_repeated_run_keeps_the_one_stored_before(runner):
    arguments = {"distancia_km": 10, "duracion_min": 55}
    call(runner, "registrar_carrera", "run", arguments)
    before = dump(runner)
    after_run, undo_data = run_then_undo(runner, "registrar_carrera", arguments)
    assert undo_data["run_id"] is None and after_run == before
    assert dump(runner) == before and len(before["running_runs"]) == 1


def test_an_impossible_run_is_refused_and_writes_nothing(runner):
    before = dump(runner)
    with pytest.raises(ActionRefused, match="^No registré esa carrera:"):
        call(runner, "registrar_carrera", "run", {"distancia_km": 42.2, "duracion_min": 2})
    assert dump(runner) == before


# --- cambiar_objetivo -------------------------------------------------------------------------------

def test_a_new_goal_is_asked_with_its_race_and_date():
    ask = PLUGIN.actions["cambiar_objetivo"].ask
    assert (ask({"objetivo": "half", "fecha": "2027-05-03"})
            == "¿Cambio tu objetivo a media maratón el 3 de mayo de 2027?")
    assert ask({"objetivo": "marathon"}) == "¿Cambio tu objetivo a maratón?"


def test_an_impossible_race_date_is_refused_before_asking(runner):
    before = dump(runner)
    message = "No cambié tu objetivo: la fecha de la carrera debe estar en los próximos dos años."
    for day in (today(runner) - timedelta(days=1), today(runner), date(today(runner).year + 3, 1, 15)):
        with pytest.raises(ActionRefused) as refused:
            call(runner, "cambiar_objetivo", "prepare", {"objetivo": "half", "fecha": day.isoformat()})
        assert str(refused.value) == message
    assert dump(runner) == before


def test_a_possible_goal_is_prepared_as_asked(runner):
    arguments = {"objetivo": "half", "fecha": date(today(runner).year + 1, 5, 3).isoformat()}
    assert call(runner, "cambiar_objetivo", "prepare", dict(arguments)) == arguments
    assert call(runner, "cambiar_objetivo", "prepare", {"objetivo": "10K"}) == {"objetivo": "10K"}


def test_undoing_a_new_goal_restores_the_old_one_and_its_plan(runner):
    before = dump(runner)
    race = date(today(runner).year + 1, 5, 3).isoformat()
    after_run, undo_data = run_then_undo(runner, "cambiar_objetivo", {"objetivo": "half", "fecha": race})
    assert after_run["profile"][1]["objetivo"] == "half" and after_run["profile"][1]["fecha_carrera"] == race
    assert after_run["running_plans"] != before["running_plans"]
    assert undo_data["before"] == {"objetivo": "marathon"}  # onboarding asked no race date
    assert dump(runner) == before


def test_undoing_a_new_goal_removes_a_race_date_the_profile_did_not_have(runner):
    contact = find_contact(runner.db, PHONE)
    with transaction(runner.db):
        contact.profile = {name: value for name, value in contact.profile.items() if name != "fecha_carrera"}
        save_profile(runner.db, contact, {})
    before = dump(runner)
    race = date(today(runner).year + 1, 3, 14).isoformat()
    after_run, _ = run_then_undo(runner, "cambiar_objetivo", {"objetivo": "10K", "fecha": race})
    assert after_run["profile"][1]["fecha_carrera"] == race
    assert dump(runner) == before
    assert "fecha_carrera" not in dump(runner)["profile"][1]


# --- reportar_molestia ------------------------------------------------------------------------------

def test_an_ache_is_asked_with_its_area():
    ask = PLUGIN.actions["reportar_molestia"].ask
    assert ask({"zona": "rodilla", "gravedad": "molestia"}) == "¿Anoto una molestia en la rodilla y alivio tu plan?"
    assert ask({"zona": "tobillo", "gravedad": "lesion"}) == "¿Anoto una lesión en el tobillo y alivio tu plan?"
    assert ask({"zona": "isquios", "gravedad": "molestia"}) == "¿Anoto una molestia en los isquios y alivio tu plan?"
    assert ask({"zona": "dedo gordo", "gravedad": "molestia"}) == "¿Anoto una molestia en dedo gordo y alivio tu plan?"


def test_undoing_an_ache_deletes_it_and_restores_the_plan(runner):
    before = dump(runner)
    after_run, undo_data = run_then_undo(runner, "reportar_molestia", {"zona": "rodilla", "gravedad": "molestia"})
    assert [row[:3] for row in after_run["running_injuries"]] == [(undo_data["injury_id"], "rodilla", "ache")]
    assert after_run["running_plans"] != before["running_plans"]
    assert dump(runner) == before
    assert planned_kinds(runner) & QUALITY


def test_undoing_an_ache_over_an_open_one_puts_its_description_back(runner):
    call(runner, "reportar_molestia", "run", {"zona": "gemelo", "gravedad": "molestia"})
    before = dump(runner)
    after_run, _ = run_then_undo(runner, "reportar_molestia", {"zona": "tobillo", "gravedad": "lesion"})
    assert [row[1:3] for row in after_run["running_injuries"]] == [("tobillo", "injury")]
    assert dump(runner) == before
    assert open_injuries(runner) == [("gemelo", "ache")]


# --- molestia_superada ------------------------------------------------------------------------------

def test_a_recovery_without_an_open_injury_is_refused_before_asking(runner):
    before = dump(runner)
    with pytest.raises(ActionRefused) as refused:
        call(runner, "molestia_superada", "prepare", {})
    assert str(refused.value) == "¡Qué bueno que estés bien! No tenía ninguna molestia anotada."
    call(runner, "reportar_molestia", "run", {"zona": "rodilla", "gravedad": "molestia"})
    call(runner, "molestia_superada", "run", {})
    with pytest.raises(ActionRefused):  # already resolved
        call(runner, "molestia_superada", "prepare", {})
    assert dump(runner)["running_plans"] == before["running_plans"]


def test_a_recovery_is_asked_naming_the_open_injury(runner):
    action = PLUGIN.actions["molestia_superada"]
    call(runner, "reportar_molestia", "run", {"zona": "rodilla", "gravedad": "molestia"})
    before = dump(runner)
    arguments = call(runner, "molestia_superada", "prepare", {})
    assert arguments == {"zona": "rodilla"}
    jsonschema.validate(arguments, action.schema)
    jsonschema.validate({}, action.schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"zona": "rodilla", "gravedad": "lesion"}, action.schema)
    assert action.ask(arguments) == "¿Doy por superada tu molestia en la rodilla y vuelvo a tu plan normal?"
    assert dump(runner) == before


def test_undoing_a_recovery_reopens_the_injury_and_its_plan(runner):
    call(runner, "reportar_molestia", "run", {"zona": "rodilla", "gravedad": "lesion"})
    before = dump(runner)
    arguments = call(runner, "molestia_superada", "prepare", {})
    after_run, undo_data = run_then_undo(runner, "molestia_superada", arguments)
    assert open_injuries(runner) == [("rodilla", "injury")]
    assert undo_data["injury_ids"] == [before["running_injuries"][0][0]]
    assert after_run["running_injuries"][0][4] == today(runner).isoformat()
    assert after_run["running_plans"] != before["running_plans"]
    assert dump(runner) == before
    assert not planned_kinds(runner) & QUALITY
