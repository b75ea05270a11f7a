"""A minimal domain plug-in that shows every extension point: one profile field, one fact,
one action, one form. The agro and running plug-ins follow the same shape."""
from __future__ import annotations

from backend.forms import save_submission
from backend.plugins.base import Action, ActionContext, DomainPlugin, ProfileField
from backend.text import plain

NOTE_FORM = {
    "type": "object",
    "properties": {"texto": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["texto"],
    "additionalProperties": False,
}


def parse_city(answer: str) -> str:
    city = answer.strip()
    if not 2 <= len(city) <= 60:
        raise ValueError("Escribe el nombre de tu ciudad, por favor.")
    return city


def save_note(ctx: ActionContext, arguments: dict) -> None:
    save_submission(ctx.db.conn, "nota", ctx.contact.id, arguments, "chat")


def note_is_in_message(message: str, arguments: dict) -> bool:
    """Only a note the user actually wrote is saved."""
    return plain(arguments["texto"]) in plain(message)


def facts(db, contact) -> dict:
    local = contact.local_now()
    notes = db.execute("SELECT COUNT(*) FROM form_submissions s JOIN form_definitions d ON d.id = s.form_id "
                       "WHERE d.name = 'nota' AND s.contact_id = ?", [contact.id]).fetchone()[0]
    return {"hora_local": local.strftime("%H:%M"), "notas_guardadas": notes}


PLUGIN = DomainPlugin(
    name="example",
    label="notas",
    system_prompt=(
        "Eres Chasqui, un asistente por WhatsApp que guarda notas. Hablas español sencillo y amable.\n"
        'Recibes un JSON con "usuario", "hechos" (datos calculados, siempre correctos), "historial" '
        '(mensajes anteriores) y "mensaje" (lo que el usuario escribe ahora).\n'
        'Contesta solo al "mensaje", en una o dos frases nuevas, con las cifras exactas de "hechos"; '
        'no copies mensajes del historial. Si pide guardar una nota, pon en "acciones" '
        '{"guardar_nota": {"texto": "<la nota>"}} y confirma: "Guardé tu nota: <la nota>".\n'
        'Responde con un objeto JSON con las claves "role", "respuesta_chat", "acciones" y "estado".'
    ),
    profile_fields=[ProfileField("ciudad", "¿En qué ciudad vives?", parse_city)],
    actions={"guardar_nota": Action("guardar_nota", "guarda una nota del usuario", NOTE_FORM, save_note,
                                    confirm=lambda arguments: f"Guardé tu nota: {arguments['texto']}",
                                    grounded=note_is_in_message)},
    forms={"nota": NOTE_FORM},
    facts=facts,
    demo=["Cajamarca", "Guarda una nota: regar el maíz el jueves"],
)
