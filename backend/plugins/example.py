"""A minimal domain plug-in that shows every extension point: one profile field, facts, intents
(a fact question answered by code, an action, open questions), one undoable action with its
detector, one form. It reaches the core only through `core` (backend/plugin_api.py), as every
plug-in must. The agro and running plug-ins follow the same shape."""
from __future__ import annotations

import re

from backend.plugin_api import core
from backend.plugins.base import Action, ActionContext, DomainPlugin, ProfileField
from backend.understanding.intents import ACTION, FACT, OPEN, OPEN_QUESTION, Intent

NOTE_FORM = {
    "type": "object",
    "properties": {"texto": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["texto"],
    "additionalProperties": False,
}
# "anota: comprar semillas", "guarda una nota: …": the colon says where the note starts.
NOTE = re.compile(r"(?i)^\s*(?:guarda(?:me)?|anota(?:me)?|apunta(?:me)?|toma)\s*(?:una|la|esta)?\s*(?:nota)?\s*:\s*"
                  r"(?P<texto>\S.{0,199})$")


def parse_city(answer: str) -> str:
    city = answer.strip()
    if not 2 <= len(city) <= 60:
        raise ValueError("Escribe el nombre de tu ciudad, por favor.")
    return city


def save_note(ctx: ActionContext, arguments: dict) -> dict:
    return {"id": core.save_submission(ctx.db, "nota", ctx.contact.id, arguments, "chat")}


def delete_note(ctx: ActionContext, undo: dict) -> None:
    core.delete_submission(ctx.db, ctx.contact.id, undo["id"])


def detect(reading, contact) -> dict:
    """«anota: comprar semillas» -> guardar_nota {"texto": "comprar semillas"}, as written."""
    found = NOTE.match(reading.text)
    return {"guardar_nota": {"texto": found["texto"].strip()}} if found else {}


def facts(db, contact) -> dict:
    local = contact.local_now()
    notes = core.count_submissions(db, "nota", contact.id)
    return {"hora_local": local.strftime("%H:%M"), "notas_guardadas": notes}


INTENTS = [
    Intent("contar_notas", FACT, "cuántas notas tiene guardadas",
           ("cuantas notas tengo", "cuantas notas guarde", "numero de notas", "cuantas notas hay",
            "tengo notas guardadas", "cuantas notas llevo"),
           answer=lambda f, reading: f"Tienes {f['notas_guardadas']} nota{'' if f['notas_guardadas'] == 1 else 's'} "
                                     "guardada" + ("" if f["notas_guardadas"] == 1 else "s") + "."),
    Intent("hora", FACT, "qué hora es", ("que hora es", "me dices la hora", "hora", "que hora tienes"),
           answer=lambda f, reading: f"Son las {f['hora_local']}."),
    Intent("guardar_nota", ACTION, "quiere guardar una nota",
           ("anota esto", "guarda una nota", "apunta una nota", "toma nota", "guardame una nota"),
           missing="¿Qué nota guardo? Escríbela así: «anota: comprar semillas»."),
    Intent(OPEN_QUESTION, OPEN, "otra pregunta", ("como estas", "que opinas", "cuentame algo", "una pregunta")),
]

PLUGIN = DomainPlugin(
    name="example",
    label="notas",
    system_prompt=(
        "Eres Chasqui, un asistente por WhatsApp que guarda notas. Hablas español sencillo y amable, en una o "
        "dos frases, solo a la «Pregunta»; usa solo las cifras de los datos.\n"
        'Responde con JSON: {"respuesta_chat": "..."}'
    ),
    profile_fields=[ProfileField("ciudad", "¿En qué ciudad vives?", parse_city)],
    actions={"guardar_nota": Action("guardar_nota", "guarda una nota del usuario", NOTE_FORM, save_note,
                                    confirm=lambda arguments: f"Guardé tu nota: {arguments['texto']}",
                                    asks_first=lambda arguments: False,
                                    undo=delete_note)},
    forms={"nota": NOTE_FORM},
    facts=facts,
    detect=detect,
    intents=INTENTS,
    menu=["guardar una nota («anota: comprar semillas»)", "cuántas notas tienes"],
    demo=["Cajamarca", "Guarda una nota: regar el maíz el jueves"],
)
