"""The replies every domain shares, written by code: greeting, thanks, help, a person, my data."""
from __future__ import annotations

import json

from backend.contacts import Contact
from backend.plugins.base import DomainPlugin

HANDOFF = ("Listo, le aviso a una persona del equipo para que te escriba por aquí. Mientras tanto, sigo "
           "disponible.")
NOTHING_PENDING = "No tengo nada pendiente por confirmar. ¿En qué te ayudo?"
DISCARDED = "Listo, no lo guardé."


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


def my_data(contact: Contact) -> str:
    lines = [f"• nombre: {contact.name}" if contact.name else None, f"• teléfono: {contact.phone}"]
    for key, value in contact.profile.items():
        if value in (None, "", [], {}):
            continue
        shown = value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False)
        lines.append(f"• {key.replace('_', ' ')}: {str(shown)[:80]}")
    return "Esto es lo que guardo de ti:\n" + "\n".join(line for line in lines if line) + \
        "\nPara corregir algo, dímelo; para dejar de recibir alertas, escribe «baja»."
