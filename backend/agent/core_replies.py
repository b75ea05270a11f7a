"""The replies every domain shares, written by code: greeting, thanks, help, a person, my data."""
from __future__ import annotations

import re

from backend.contacts import Contact
from backend.plugins.base import DomainPlugin

HANDOFF = ("Listo, le aviso a una persona del equipo para que te escriba por aquí. Mientras tanto, sigo "
           "disponible.")
ALREADY_ASKED = "Ya le avisé al equipo; una persona te escribirá por aquí pronto."
SORRY_NOT_HELPFUL = ("Lo siento, gracias por avisarme. Le pedí a una persona del equipo que revise tu consulta; "
                     "te escribirá por aquí. Mientras tanto, ¿me lo puedes preguntar de otra forma?")
BAD_REACTION = ("Gracias por avisarme. Le pedí a una persona del equipo que revise mi respuesta; te escribirá "
                "por aquí.")
PERSON_WILL_HELP = "No te estoy entendiendo bien. Le pedí a una persona del equipo que te escriba por aquí."
EXPORT_CAPTION = "Tus datos en Chasqui: todo lo que guardo de ti, en un archivo."
ERASE_QUESTION = ("¿Seguro que quieres que borre todos tus datos? Borraré tus mensajes, tu perfil y todo lo que "
                  "anotaste; no se puede deshacer. Responde «sí» para borrar o «no» para cancelar.")
ERASED = ("Listo, borré todos tus datos. Si vuelves a escribirme, empezaremos de cero. ¡Gracias por usar "
          "Chasqui!")
ERASE_CANCELLED = "Listo, no borré nada."
NOTHING_PENDING = "No tengo nada pendiente por confirmar. ¿En qué te ayudo?"
DISCARDED = "Listo, no lo guardé."


# The commands of seed 003 («MIS DATOS», «BORRAR MIS DATOS»), typed any way: what the matcher
# may place differently (a short «mis datos» looks like a profile question) is decided here first.
_ERASE = re.compile(r"^(?:por ?favor |quiero |puedes |podrias )?(?:borra[rn]?|elimina[rn]?|suprimi[rn]?|borre|borren|"
                    r"eliminen)(?: todos)? (?:mis|todos mis|toda mi) (?:datos|informacion)(?: personales)?"
                    r"(?: por ?favor)?$")
_MY_DATA = re.compile(r"^(?:ver |quiero ver |dame |mandame |enviame |exportar )?(?:mis datos|todos mis datos)"
                      r"(?: por ?favor)?$")


# Someone of the team named with a request for them («necesito un técnico que me ayude», «un asesor
# porfa»): a takeover request whatever the matcher preferred (help, an open question).
_PERSON = re.compile(r"\b(?:asesor\w*|humanos?|persona|personas|tecnic[oa]s?|agronom[oa]s?|ingenier[oa]s?|"
                     r"extensionistas?|promotor\w*|operador\w*|agentes?|especialistas?|entrenador\w*|coach|encargad[oa])\b")
_REQUEST = re.compile(r"\b(?:habla\w*|abla\w*|pasa\w*|comunica\w*|necesit\w*|quier\w*|kiero|ayud\w*|atien\w*|"
                      r"llam\w*|contact\w*|deriva\w*|porfa|por favor|xfa|puedo|podria|hay)\b")


def asks_for_person(normalized: str) -> bool:
    words = normalized.split()
    return bool(_PERSON.search(normalized)) and (len(words) <= 2 or bool(_REQUEST.search(normalized)))


def is_no(normalized: str) -> bool:
    return bool(re.match(r"^\W*(no|nop|nope|nel|cancela|cancelar|mejor no|todavia no|aun no)\b(?!\s+(?:se|me|te)\b)",
                         normalized))


_ERASE_VERB = re.compile(r"\b(?:borr\w*|elimin\w*|suprim\w*|olvid\w*|quit\w*|sac\w*|remov\w*)\b")


def asks_to_erase(normalized: str) -> bool:
    """Only a message that says «borrar» (or its kin) asks to delete: seeing one's data is not that."""
    return bool(_ERASE_VERB.search(normalized))


def personal_data_command(normalized: str) -> str | None:
    """'borrar_datos', 'mis_datos' or None, from the reading's normalized text."""
    text = " ".join(normalized.replace("¿", " ").replace("?", " ").replace("!", " ").replace("¡", " ")
                    .replace(".", " ").replace(",", " ").split())
    if _ERASE.match(text):
        return "borrar_datos"
    if _MY_DATA.match(text):
        return "mis_datos"
    return None


def _menu(plugin: DomainPlugin) -> str:
    return "\n".join(f"• {item}" for item in plugin.menu)


def greeting(contact: Contact, plugin: DomainPlugin, turn: int) -> str:
    name = f", {contact.name}" if contact.name else ""
    opener = ("¡Hola{}! ¿En qué te ayudo hoy?", "¡Hola{}! Aquí estoy.", "¡Buenas{}! ¿Qué necesitas?")[turn % 3]
    return opener.format(name) + (f" Puedo ayudarte con:\n{_menu(plugin)}" if plugin.menu else "")


def thanks(turn: int) -> str:
    return ("¡De nada! Aquí estoy cuando me necesites.", "¡Con gusto!", "¡Para eso estoy! Escríbeme cuando quieras.")[
        turn % 3]


def help_text(plugin: DomainPlugin) -> str:
    text = "Puedo ayudarte con:\n" + _menu(plugin) if plugin.menu else "Escríbeme tu pregunta."
    return text + ("\nSi me equivoco al anotar algo, escribe «deshacer». Para hablar con una persona, «asesor». "
                   "Para dejar de recibir alertas, «baja».")
