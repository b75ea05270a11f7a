"""Onboarding: a short deterministic conversation for a new phone number. It asks the domain (when
more than one plug-in is on), the name, then each profile field the domain plug-in declares. No
model is involved, so it works even when the model is down."""
from __future__ import annotations

import re

import sqlite_utils

from backend.contacts import Contact, save_profile, update_contact
from backend.plugins.base import DomainPlugin
from backend.text import fold

STEP_DOMAIN = "domain"
STEP_NAME = "name"
FIELD_PREFIX = "field:"


def first_step(plugins: dict[str, DomainPlugin]) -> str:
    return STEP_NAME if len(plugins) == 1 else STEP_DOMAIN


def domain_question(plugins: dict[str, DomainPlugin]) -> str:
    options = "\n".join(f"{i}. {p.label}" for i, p in enumerate(plugins.values(), start=1))
    return f"¿En qué te puedo ayudar? Responde con el número:\n{options}"


def greeting(plugins: dict[str, DomainPlugin]) -> str:
    hello = "¡Hola! Soy Chasqui, tu asistente por WhatsApp."
    if len(plugins) == 1:
        return f"{hello} ¿Cómo te llamas?"
    return f"{hello} {domain_question(plugins)}"


def start(db: sqlite_utils.Database, contact: Contact, plugins: dict[str, DomainPlugin]) -> str:
    if len(plugins) == 1:
        update_contact(db, contact, domain=next(iter(plugins)))
    return greeting(plugins)


def _pick_domain(answer: str, plugins: dict[str, DomainPlugin]) -> DomainPlugin | None:
    folded = fold(answer).strip()
    choices = list(plugins.values())
    if folded.isascii() and folded.isdigit() and 1 <= int(folded) <= len(choices):  # not "፩"
        return choices[int(folded) - 1]
    for plugin in choices:
        if fold(plugin.label) in folded or plugin.name in folded:
            return plugin
    return None


def _ask_next_field(db: sqlite_utils.Database, contact: Contact, plugin: DomainPlugin, after: str | None) -> str:
    names = [f.name for f in plugin.profile_fields]
    following = names[names.index(after) + 1:] if after else names
    if not following:
        update_contact(db, contact, onboarding_step=None)
        return f"¡Listo, {contact.name}! Ya puedes preguntarme lo que necesites."
    update_contact(db, contact, onboarding_step=FIELD_PREFIX + following[0])
    return next(f.question for f in plugin.profile_fields if f.name == following[0])


def advance(db: sqlite_utils.Database, contact: Contact, answer: str, plugins: dict[str, DomainPlugin]) -> str:
    """Take the user's answer to the current step; return the next question (or the welcome)."""
    step = contact.onboarding_step
    if step == STEP_DOMAIN:
        plugin = _pick_domain(answer, plugins)
        if plugin is None:
            return f"No te entendí. {domain_question(plugins)}"
        update_contact(db, contact, domain=plugin.name, onboarding_step=STEP_NAME)
        return "¡Perfecto! ¿Cómo te llamas?"
    plugin = plugins.get(contact.domain or "")
    if plugin is None:  # its plug-in was switched off: start over
        update_contact(db, contact, domain=None, onboarding_step=first_step(plugins))
        return start(db, contact, plugins)
    if step == STEP_NAME:
        name = re.sub(r"\s+", " ", answer).strip()
        name = re.sub(r"^(me llamo|soy|mi nombre es)\s+", "", name, flags=re.IGNORECASE)[:60]
        if not re.search(r"[^\W\d_]", name):
            return "¿Cómo te llamas? Escribe tu nombre, por favor."
        update_contact(db, contact, name=name)
        return _ask_next_field(db, contact, plugin, after=None)
    field_name = step.removeprefix(FIELD_PREFIX)
    profile_field = next((f for f in plugin.profile_fields if f.name == field_name), None)
    if profile_field is None:  # the plug-in no longer declares it
        return _ask_next_field(db, contact, plugin, after=None)
    try:
        value = profile_field.parse(answer)
    except ValueError as problem:
        return f"{problem} {profile_field.question}"
    save_profile(db, contact, {field_name: value})
    return _ask_next_field(db, contact, plugin, after=field_name)
