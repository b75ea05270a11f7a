"""The running coach as a domain plug-in: what onboarding asks, what the model is told, what it
may do, the coach's weekly calendar, the Garmin import and the runner's own tables."""
from __future__ import annotations

import re

from backend.plugins.base import ALWAYS, NEVER, DomainPlugin, ProfileField, ScheduledJob
from backend.plugins.running import intents, jobs, profile
from backend.plugins.running.actions import ACTIONS, detect
from backend.plugins.running.admin_view import MENU_NAME, GarminImportView
from backend.plugins.running.facts import running_facts
from backend.plugins.running.knowledge import sync_knowledge
from backend.plugins.running.routes import create_running_blueprint
from backend.plugins.running.store import MIGRATIONS

SYSTEM_PROMPT = (  # the answer call for open questions only: code answers paces, plans and logs runs
    "Eres Chasqui, un entrenador de running por WhatsApp. Respondes en español sencillo y cercano, en una a "
    "tres frases, solo a la «Pregunta». Usa lo que dice la «Guía» si trae algo; no inventes cifras: usa solo "
    "las que aparecen en los datos o en la guía. Si es un tema de salud serio, recomienda ver a un médico.\n"
    'Responde con JSON: {"respuesta_chat": "..."}'
)

PLUGIN = DomainPlugin(
    name="running",
    label="running",
    system_prompt=SYSTEM_PROMPT,
    # The first answer needs the goal and one recent result («no sé» is fine); the rest starts from
    # a stated default (runs per week from the level, no injury) and can be changed any time.
    profile_fields=[
        ProfileField("objetivo", "¿Cuál es tu objetivo: 5K, 10K, media maratón, maratón, ultra, velocidad o "
                                 "salud?", profile.parse_goal, find=profile.find_stated_goal,
                     needed=profile.goal_needed, default=profile.goal_from_result,
                     options=("5K", "10K", "media maratón", "maratón", "ultra", "velocidad", "salud")),
        ProfileField("marca", "¿Tienes una marca reciente? Por ejemplo «10K en 52:30» o «5K en 28 min». Si no, "
                              "responde «no sé».", profile.parse_recent_result, find=profile.find_recent_result,
                     needed=ALWAYS),
        ProfileField("fecha_carrera", "¿Cuándo es tu carrera? Por ejemplo 15/03/2027 o «abril»; si no tienes "
                                      "fecha, responde «no».", profile.parse_race_date, find=profile.find_race_day,
                     needed=NEVER),
        ProfileField("nivel", "¿Cuál es tu nivel: principiante, intermedio o avanzado?", profile.parse_level,
                     find=profile.find_level, needed=NEVER, default=profile.level_from_result,
                     options=("principiante", "intermedio", "avanzado")),
        ProfileField("carreras_por_semana", "¿Cuántos días por semana puedes correr? (de 2 a 7)",
                     profile.parse_runs_per_week, find=profile.find_runs_per_week, needed=NEVER,
                     default=profile.runs_for_level,
                     later="¿Cuántos días por semana puedes correr? Así armo tu plan.", then="¿Qué me toca esta semana?"),
        ProfileField("lesiones", "¿Tienes alguna lesión o molestia ahora? Cuéntame, o responde «ninguna».",
                     profile.parse_injuries, needed=NEVER, default=lambda answers: ""),
        ProfileField("edad", "¿Cuántos años tienes?", profile.parse_age, needed=NEVER),
    ],
    speech_prompt=("Mensaje de un corredor a su entrenador: corrí 10 kilómetros en 55 minutos, a ritmo "
                   "de 5:30 por kilómetro. Rodaje, series, tempo, fondo largo, maratón, media maratón, 5K, "
                   "10K, 21K. Me duele la rodilla. ¿Qué me toca hoy?"),
    signals=re.compile(r"\b(corr\w*|running|runner|maraton\w*|carrera|trote|trotar|entren\w*|ritmo|5 ?k|10 ?k|21 ?k|"
                       r"42 ?k|km|kilometros?|coach|trail|ultra)\b"),
    data_labels={"running_runs": "carreras", "running_fitness": "estado de forma", "running_injuries": "molestias",
                 "running_plans": "planes de entrenamiento", "running_job_marks": "avisos del plan"},
    first_question="¿Cuáles son mis ritmos de entrenamiento?",
    first_ask=("¿Cuál es tu objetivo y una marca reciente? Por ejemplo «10K; hice 5K en 28 min» o «maratón, "
               "no sé mi marca»."),
    asks_name=False,
    correction_example="ahora corro 5 días",
    describe=profile.describe,
    on_profile_change=profile.follow_profile,
    actions=ACTIONS,
    intents=intents.INTENTS,
    read_slots=intents.read_slots,
    mark_entities=intents.mark_entities,
    menu=intents.MENU,
    facts=running_facts,
    detect=detect,
    jobs=[ScheduledJob("weekly_refresh", 600, jobs.weekly_refresh_all),
          ScheduledJob("progress_card", 600, jobs.progress_cards_all)],
    migrations=MIGRATIONS,
    on_start=sync_knowledge,
    demo=["Hola, quiero correr un 10K. Hice 5K en 26 min", "4", "Hoy corrí 10 km en 55 minutos, me sentí bien",
          "¿A qué ritmo hago el tempo?"],
    routes=create_running_blueprint,
    admin_views=[lambda store: GarminImportView(store, name=MENU_NAME, endpoint="admin_running_garmin",
                                                url="running/garmin")],
)
