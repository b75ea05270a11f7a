"""The agricultural domain as a plug-in: what onboarding asks, what the model is told (the
computed irrigation advice), the field reports it may record, the pest signal and the shipped
knowledge base."""
from __future__ import annotations

import re

from backend.plugins.agro import intents, profile
from backend.plugins.agro.actions import ACTIONS, detect
from backend.plugins.agro.admin_view import MENU_NAME, PlotsView
from backend.plugins.agro.facts import agro_facts
from backend.plugins.agro.jobs import pest_signal
from backend.plugins.agro.knowledge import sync_knowledge
from backend.plugins.agro.reports import FORMS
from backend.plugins.agro.routes import create_agro_blueprint
from backend.plugins.agro.store import MIGRATIONS
from backend.plugins.base import ALWAYS, NEVER, DomainPlugin, ProfileField, ScheduledJob

SYSTEM_PROMPT = (  # the answer call for open questions only: code answers irrigation and records reports
    "Eres Chasqui, un asistente agrícola por WhatsApp para productores del Perú. Respondes en español sencillo "
    "y amable, en una a tres frases, solo a la «Pregunta». Usa lo que dice la «Guía» si trae algo; no inventes "
    "cifras ni dosis: usa solo las que aparecen en los datos o en la guía. Para productos químicos, recomienda "
    "consultar a un técnico de la agencia agraria.\n"
    'Responde con JSON: {"respuesta_chat": "..."}'
)

PLUGIN = DomainPlugin(
    name="agro",
    label="agricultura",
    system_prompt=SYSTEM_PROMPT,
    # The first answer («¿cuándo riego?») needs the crop and the place, and the sowing date when the
    # crop's stage depends on it; the rest starts from a stated default (soil «franco», irrigation by
    # gravity) that the producer can correct any time («mi suelo es arcilloso»).
    profile_fields=[
        ProfileField("cultivo", "¿Qué cultivo tienes? Por ejemplo papa, maíz, quinua, café o palta.",
                     profile.parse_crop, find=profile.find_crop, needed=ALWAYS,
                     options=("papa", "maíz", "quinua", "arroz", "café", "palta", "frijol", "cebolla", "trigo", "alfalfa")),
        ProfileField("ubicacion", "¿Dónde está tu chacra? Tu distrito o provincia (por ejemplo «Huancayo»), o envía "
                                  "tu ubicación 📍.", profile.parse_location, find=profile.find_place, needed=ALWAYS),
        ProfileField("fecha_siembra", "¿Cuándo sembraste? Por ejemplo «15/08/2026», «15 de agosto» o «hace 2 meses».",
                     profile.parse_planting_date, find=profile.find_planting_date,
                     needed=profile.needs_planting_date, default=profile.assumed_planting_date),
        ProfileField("variedad", "¿Qué variedad? Si no sabes, responde «no sé».", profile.parse_variety,
                     find=profile.find_variety, needed=NEVER),
        ProfileField("area_ha", "¿Qué área tiene tu lote? Por ejemplo «2 ha» o «5000 m2».", profile.parse_area,
                     find=profile.find_area, needed=NEVER),
        ProfileField("suelo", "¿Cómo es tu suelo: arenoso, franco, arcilloso, limoso…? Si no sabes, «no sé».",
                     profile.parse_soil, find=profile.find_soil, needed=NEVER, default=lambda answers: "franco"),
        ProfileField("riego", "¿Cómo riegas: goteo, aspersión, gravedad o secano? Si sabes cuántos mm por hora "
                              "da, dímelo (por ejemplo «goteo 4 mm/h»).", profile.parse_irrigation,
                     find=profile.find_irrigation, needed=NEVER,
                     default=lambda answers: {"method": "gravedad", "rate_mm_h": None},
                     later="¿Cómo es tu suelo y cómo riegas (goteo, aspersión o gravedad, y cuántos mm por hora "
                           "da)? Por ejemplo «suelo arcilloso, goteo 4 mm/h». Así te digo cuántas horas regar.",
                     then="¿Cuándo riego?"),
        ProfileField("fuente_agua", "¿De dónde viene el agua: río, canal, pozo, reservorio, lluvia?",
                     profile.parse_water_source, find=profile.find_water_source, needed=NEVER),
    ],
    signals=re.compile(r"\b(rieg\w*|regar|regu?e|chacra|cultiv\w*|sembr\w*|siembr\w*|cosech\w*|plaga\w*|"
                       r"agricult\w*|agro|hectareas?|lote|parcela|helada|abono|fertiliz\w*|productor\w*)\b"),
    speech_prompt=("Consulta de un productor sobre su chacra: ¿cuándo riego? Regué tres horas con goteo, "
                   "aspersión o gravedad. Papa, maíz, quinua, arroz, café, palta, frijol, cebolla, trigo, "
                   "alfalfa. Sembré hace dos meses. Rancha, gusano cogollero, gorgojo de los Andes, polilla, "
                   "roya, mosca blanca, pulgones, helada, lluvia. Huancayo, Cajamarca, Huaral, Cusco, Puno."),
    data_labels={"agro_plots": "parcelas", "agro_outbreak_alerts": "avisos de plagas"},
    first_question="¿Cuándo riego?",
    first_ask="¿Qué cultivo tienes y dónde está tu chacra? Por ejemplo «papa en Huancayo» o «maíz, Huaral».",
    asks_name=False,
    correction_example="mi suelo es arcilloso",
    describe=profile.describe,
    on_profile_change=profile.follow_profile,
    actions=ACTIONS,
    intents=intents.INTENTS,
    read_slots=intents.read_slots,
    mark_entities=intents.mark_entities,
    menu=intents.MENU,
    forms=FORMS,
    facts=agro_facts,
    detect=detect,
    jobs=[ScheduledJob("pest_signal", 600, pest_signal)],
    migrations=MIGRATIONS,
    on_start=sync_knowledge,
    routes=create_agro_blueprint,
    admin_views=[lambda store: PlotsView(store, name=MENU_NAME, endpoint="admin_agro_plots", url="agro/plots")],
    demo=["Hola, tengo maíz en Huaral, ¿cuándo riego?", "hace 2 meses", "goteo 4 mm/h", "¿Cuándo riego?"],
)
