"""The running coach through POST /agent: onboarding, runs logged from the runner's words,
impossible runs refused, goal and injury changes asked first then re-planning, and questions
answered from computed facts with no model call."""
from __future__ import annotations

from tests.running.conftest import PHONE, onboard


def runs(backend) -> list[tuple]:
    return backend.db.execute("SELECT distance_km, duration_s, rpe, mood, aches, source FROM running_runs").fetchall()


def test_a_first_message_with_a_best_time_and_a_question_gets_the_figure_at_once(coach, model):
    """The goal is taken from the race of the best time, said so; the best time is no run to log."""
    text = coach.say(PHONE, "hola, a q ritmo debo correr? mi mejor 10k es 50 minutos")["model_output"]["respuesta_chat"]
    assert "Supuse objetivo 10K" in text and "10K en 50:00 (5:00/km)" in text
    assert runs(coach) == [] and coach.count("pending_actions") == 0
    # a bare «en 45» is 45 minutes for a 10K; the half asked before «si» is the goal and the figure
    other = "+51987000002"
    text = coach.say(other, "buenas, soy corredor, cuanto tardaria en una media maraton si hago 10k en 45")
    text = text["model_output"]["respuesta_chat"]
    assert "objetivo media maratón y 10K en 45:00" in text and "media maratón, tu tiempo posible es 1:39:44" in text
    assert model.requests == [] and model.classify_requests == []


def test_onboarding_asks_the_runner_profile_and_rereads_bad_answers(coach):
    replies = onboard(coach, answers=["Hola", "treinta y tantos"])
    assert "objetivo" in replies[0] and "marca" in replies[0]  # what the first answer needs, in one question
    assert replies[1].startswith("No entendí tu objetivo") and "no sé" in replies[1]
    assert "marca" in coach.say(PHONE, "maratón")["model_output"]["respuesta_chat"]
    assert "no parece posible" in coach.say(PHONE, "10K en 3:00")["model_output"]["respuesta_chat"]  # a 3-minute 10K
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
    text = coach.say(PHONE, "Corrí un maratón de 42,2 km en 2 minutos")["model_output"]["respuesta_chat"]
    assert text.startswith("No registré esa carrera:")
    assert runs(coach) == []


def test_paces_predictions_and_vdot_come_from_code_with_no_model_call(coach, model):
    onboard(coach)  # 5K in 19:57: VDOT 50 (Daniels' table: T 4:15/km, M 4:31/km, marathon 3:10:49)
    ask = lambda text: coach.say(PHONE, text)  # noqa: E731
    tempo = ask("a q ritmo hago el tempo")
    assert tempo["source"] == "code" and "4:15/km" in tempo["model_output"]["respuesta_chat"]
    assert "4:31/km" in ask("y mi ritmo de maraton?")["model_output"]["respuesta_chat"]
    assert "3:10:49" in ask("en cuanto haria una maraton")["model_output"]["respuesta_chat"]
    assert "VDOT es 50" in ask("cual es mi vdot")["model_output"]["respuesta_chat"]
    assert ask("que toca hoy?")["model_output"]["estado"]["intencion"] == "sesion_hoy"
    assert "0 km en 0 carreras" in ask("cuanto corri este mes")["model_output"]["respuesta_chat"]
    assert model.requests == [] and model.classify_requests == []


def test_two_fact_questions_in_one_message_get_both_answers_in_order(coach, model):
    onboard(coach)  # VDOT 50: T 4:15/km
    text = coach.say(PHONE, "a que ritmo hago el tempo y cual es mi vdot?")["model_output"]["respuesta_chat"]
    assert "4:15/km" in text and "VDOT es 50" in text and text.index("4:15/km") < text.index("VDOT es 50")
    both = coach.say(PHONE, "¿Qué toca hoy? ¿y mañana qué toca?")["model_output"]["respuesta_chat"]
    assert both.count("\n\n") >= 1 and "Mañana" in both
    assert model.requests == [] and model.classify_requests == []
    # one question asked twice in other words is answered once
    once = coach.say(PHONE, "cual es mi vdot, cual es mi indice vdot")["model_output"]["respuesta_chat"]
    assert once.count("VDOT es 50") == 1


def test_a_question_about_a_race_pace_changes_nothing(coach, model):
    onboard(coach)
    before = coach.db.execute("SELECT data FROM profiles").fetchone()[0]
    reply = coach.say(PHONE, "a que ritmo tendria que correr un 10k?")
    assert reply["model_output"]["acciones"] == {} and "10K" in reply["model_output"]["respuesta_chat"]
    assert coach.db.execute("SELECT data FROM profiles").fetchone()[0] == before
    assert coach.count("pending_actions") == 0


def test_a_run_and_a_question_in_one_message_are_both_handled(coach, model):
    onboard(coach)
    text = coach.say(PHONE, "hoy corri 8 km en 45 min, ¿que toca mañana?")["model_output"]["respuesta_chat"]
    assert text.startswith("Registré tu carrera: 8 km en 45:00") and "Mañana" in text
    assert runs(coach)[0][:2] == (8.0, 2700.0)


def test_a_question_carrying_figures_logs_nothing_without_a_yes(coach, model):
    onboard(coach)
    reply = coach.say(PHONE, "¿a cuánto hago el km en el tempo de 20 min?")
    assert runs(coach) == [] and reply["model_output"]["acciones"] == {}


def test_a_new_goal_is_asked_first_then_changes_the_profile_and_the_plan_and_can_be_undone(coach, model):
    onboard(coach, answers=["Hola", "Lucía", "34", "10K", "no", "4", "intermedio", "ninguna", "no"])
    before = coach.db.execute("SELECT plan FROM running_plans").fetchone()
    profile_before = coach.db.execute("SELECT data FROM profiles").fetchone()[0]
    question = coach.say(PHONE, "Ahora quiero correr un maratón en abril")["model_output"]["respuesta_chat"]
    assert question.startswith("¿Cambio tu objetivo a maratón el") and "sí" in question
    assert coach.db.execute("SELECT data FROM profiles").fetchone()[0] == profile_before  # not before «sí»
    text = coach.say(PHONE, "si")["model_output"]["respuesta_chat"]
    assert "Tu nuevo objetivo: maratón el" in text and "de abril de" in text
    profile = coach.db.execute("SELECT data FROM profiles").fetchone()[0]
    assert '"objetivo": "marathon"' in profile and '-04-' in profile
    assert coach.db.execute("SELECT plan FROM running_plans").fetchone() != before
    coach.say(PHONE, "deshacer")
    assert '"objetivo": "10K"' in coach.db.execute("SELECT data FROM profiles").fetchone()[0]


def test_a_proposed_change_the_runner_denies_or_passes_over_never_runs(coach, model):
    onboard(coach)
    coach.say(PHONE, "me duele la rodilla")
    assert coach.say(PHONE, "no")["model_output"]["respuesta_chat"] == "Listo, no lo guardé."
    coach.say(PHONE, "me duele la rodilla")
    coach.say(PHONE, "que toca mañana")  # passed over: the question lapses
    coach.say(PHONE, "si")
    assert coach.db.execute("SELECT COUNT(*) FROM running_injuries").fetchone()[0] == 0


def test_an_injury_lowers_the_plan_until_the_runner_says_it_is_gone(coach, model):
    onboard(coach)
    quality = {"tempo", "intervals", "repetitions", "marathon_pace"}

    def planned_kinds() -> set:
        import json
        plan = json.loads(coach.db.execute("SELECT plan FROM running_plans").fetchone()[0])
        return {run["kind"] for week in plan["weeks"] for run in week["runs"]}

    coach.say(PHONE, "¿Qué me toca hoy?")
    assert planned_kinds() & quality  # a marathoner's normal week has quality sessions
    assert "tobillo" in coach.say(PHONE, "Me lesioné el tobillo")["model_output"]["respuesta_chat"]
    text = coach.say(PHONE, "sí")["model_output"]["respuesta_chat"]
    assert "Anoté tu lesión en tobillo" in text
    assert not planned_kinds() & quality
    assert "superada" in coach.say(PHONE, "Ya no me duele el tobillo")["model_output"]["respuesta_chat"]
    assert "Volvemos a tu plan normal" in coach.say(PHONE, "dale")["model_output"]["respuesta_chat"]
    assert planned_kinds() & quality


def test_with_the_model_down_questions_and_runs_still_work(coach, model):
    onboard(coach)
    model.default = (500, {"error": {"message": "down"}}, {})
    logged = coach.say(PHONE, "Ayer corrí 12 km en 1:05:00")
    assert logged["source"] == "action" and "12 km" in logged["model_output"]["respuesta_chat"]
    reply = coach.say(PHONE, "¿Cuánto corrí este mes?")
    assert reply["source"] == "code"
    month = reply["model_output"]["respuesta_chat"]  # yesterday may have been last month
    assert month in ("Este mes llevas 12 km en 1 carrera.", "Este mes llevas 0 km en 0 carreras.")
