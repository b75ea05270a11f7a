"""The running coach through POST /agent: onboarding, runs logged by chat (even when the model
forgets the action), impossible runs refused, goal and injury changes re-planning, and answers
built from computed facts."""
from __future__ import annotations

from tests.running.conftest import PHONE, onboard


def runs(backend) -> list[tuple]:
    return backend.db.execute("SELECT distance_km, duration_s, rpe, mood, aches, source FROM running_runs").fetchall()


def test_onboarding_asks_the_runner_profile_and_rereads_bad_answers(coach):
    replies = onboard(coach, answers=["Hola", "Lucía", "treinta y tantos"])
    assert "¿Cuántos años tienes?" in replies[1]
    assert replies[2].startswith("Escribe tu edad") and replies[2].endswith("¿Cuántos años tienes?")
    for answer in ["34", "maratón", "el 31/02", "no", "4", "intermedio", "ninguna", "10K en 3:00"]:
        reply = coach.say(PHONE, answer)["model_output"]["respuesta_chat"]
    assert "no parece posible" in reply  # a 3-minute 10K
    assert "Listo, Lucía" in coach.say(PHONE, "5K en 19:57")["model_output"]["respuesta_chat"]
    profile = coach.db.execute("SELECT data FROM profiles").fetchone()[0]
    assert '"objetivo": "marathon"' in profile and '"vdot": 49.95' in profile


def test_a_run_told_by_chat_is_logged_with_pace_effort_mood_and_aches_even_without_the_action(coach, model):
    onboard(coach)
    reply = coach.say(PHONE, "Corrí 10 km en 55 min, me sentí cansado, me duele la rodilla")
    text = reply["model_output"]["respuesta_chat"]
    assert "Registré tu carrera: 10 km en 55:00 (5:30/km)" in text and "rodilla" in text
    assert runs(coach) == [(10.0, 3300.0, None, 2, '["rodilla"]', "chat")]
    assert coach.db.execute("SELECT area, severity FROM running_injuries WHERE resolved_on IS NULL").fetchall() == [
        ("rodilla", "ache")]
    assert reply["model_output"]["acciones"]["registrar_carrera"]["distancia_km"] == 10


def test_an_impossible_run_is_refused_with_a_reason_and_nothing_is_saved(coach, model):
    onboard(coach)
    model.answer("¡Qué rápido!", acciones={"registrar_carrera": {"distancia_km": 42.2, "duracion_min": 2}})
    text = coach.say(PHONE, "Corrí un maratón de 42,2 km en 2 minutos")["model_output"]["respuesta_chat"]
    assert text.startswith("No registré esa carrera:")
    assert runs(coach) == []


def test_the_model_is_told_the_paces_and_today_from_code(coach, model):
    onboard(coach)  # 5K in 19:57: VDOT 50
    coach.say(PHONE, "¿A qué ritmo hago el tempo?")
    facts = model.last_context()["hechos"]
    assert facts["ritmos"]["umbral_tempo"] == "4:15/km"
    assert facts["vdot"] == 50.0 and facts["tiempos_posibles"]["marathon"] == "3:10:49"
    assert facts["entrenamiento_hoy"] and facts["si_esta_cansado"]
    assert facts["este_mes"] == "0 km en 0 carreras"


def test_a_new_goal_by_chat_updates_the_profile_and_the_plan(coach, model):
    onboard(coach, answers=["Hola", "Lucía", "34", "10K", "no", "4", "intermedio", "ninguna", "no"])
    before = coach.db.execute("SELECT plan FROM running_plans").fetchone()
    text = coach.say(PHONE, "Ahora quiero correr un maratón en abril")["model_output"]["respuesta_chat"]
    assert "Tu nuevo objetivo: maratón el" in text and "de abril de" in text
    profile = coach.db.execute("SELECT data FROM profiles").fetchone()[0]
    assert '"objetivo": "marathon"' in profile and '-04-' in profile
    after = coach.db.execute("SELECT plan FROM running_plans").fetchone()
    assert after != before


def test_an_injury_lowers_the_plan_until_the_runner_says_it_is_gone(coach, model):
    onboard(coach)
    quality = {"tempo", "intervals", "repetitions", "marathon_pace"}

    def planned_kinds() -> set:
        import json
        plan = json.loads(coach.db.execute("SELECT plan FROM running_plans").fetchone()[0])
        return {run["kind"] for week in plan["weeks"] for run in week["runs"]}

    coach.say(PHONE, "¿Qué me toca hoy?")
    assert planned_kinds() & quality  # a marathoner's normal week has quality sessions
    text = coach.say(PHONE, "Me lesioné el tobillo")["model_output"]["respuesta_chat"]
    assert "Anoté tu lesión en tobillo" in text
    assert not planned_kinds() & quality
    assert "Volvemos a tu plan normal" in coach.say(PHONE, "Ya no me duele el tobillo")["model_output"][
        "respuesta_chat"]
    assert planned_kinds() & quality


def test_a_reply_without_the_computed_pace_is_replaced_by_it(coach, model):
    onboard(coach)
    model.answer("El tempo se corre a 5:00/km.")  # a small model's guess
    assert coach.say(PHONE, "¿A qué ritmo hago el tempo?")["model_output"]["respuesta_chat"] == \
        "Tu ritmo de tempo (umbral) es 4:15/km."
    model.answer("¡Claro! Tu tempo va a 4:15/km, sin pasarte.")
    assert coach.say(PHONE, "¿y a qué ritmo hago el tempo mañana?")["model_output"]["respuesta_chat"] == \
        "¡Claro! Tu tempo va a 4:15/km, sin pasarte."  # it carries the figure: the model's words stay


def test_with_the_model_down_a_question_still_gets_its_computed_answer(coach, model):
    onboard(coach)
    coach.say(PHONE, "Ayer corrí 12 km en 1:05:00")
    model.default = (500, {"error": {"message": "down"}}, {})
    reply = coach.say(PHONE, "¿Cuánto corrí este mes?")
    assert reply["source"] == "apology"
    month = reply["model_output"]["respuesta_chat"]  # yesterday may have been last month
    assert month in ("Este mes llevas 12 km en 1 carrera.", "Este mes llevas 0 km en 0 carreras.")
