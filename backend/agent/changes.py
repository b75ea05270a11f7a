"""Changes to a user's data, the only way they happen by chat: proposed and kept until the user's
«sí» (pending_actions), run in a savepoint each, logged with what their plug-in needs to undo
them (action_log), and undone with «deshacer». Nothing here decides *whether* a change is wanted:
the understanding layer and the plug-ins' detectors do; this module makes it safe."""
from __future__ import annotations

import json
import logging
import re

import jsonschema

from backend.contacts import Contact
from backend.plugins.base import Action, ActionContext, ActionRefused, DomainPlugin
from backend.store.database import Database, now

log = logging.getLogger(__name__)

# A yes to a pending question, even in words that elsewhere mean thanks ("ok", "listo").
AFFIRMATIVE = re.compile(r"^\W*(si|sip|sii+|ok|oka|okey|okay|dale|confirmo|correcto|asi es|claro|listo|de acuerdo|"
                         r"anotalo|guardalo|hazlo|ya|bueno|va|perfecto|exacto|eso|arí|ari)\b(?!\s+no\b)")
SHORT_ANSWER_WORDS = 4  # «ya, dale» is a yes; «ya corrí 5 km en 30 min» is news, not an answer


def is_yes(reading) -> bool:
    return len(reading.words) <= SHORT_ANSWER_WORDS and bool(AFFIRMATIVE.match(reading.normalized))


PENDING_FOR_S = 6 * 3600  # a «sí» hours later still counts; the next day it does not
UNDO_FOR_S = 24 * 3600  # «deshacer» takes back the last change of the past day


def checked(plugin: DomainPlugin, requested: dict) -> dict:
    """The registered actions whose arguments fit their schema (the others are logged)."""
    valid = {}
    for name, arguments in requested.items():
        action = plugin.actions.get(name)
        try:
            if action is None:
                raise jsonschema.ValidationError("not registered")
            jsonschema.validate(arguments, action.schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as problem:
            log.warning("refused action", extra={"action": name, "error": problem.message})
            continue
        valid[name] = arguments
    return valid


def prepare(db: Database, contact: Contact, plugin: DomainPlugin,
            actions: dict) -> tuple[dict, list[str]]:
    """Each action as it would run (its plug-in's `prepare`), or the reason it cannot."""
    prepared, refusals = {}, []
    for name, arguments in actions.items():
        action = plugin.actions[name]
        try:
            prepared[name] = action.prepare(ActionContext(db, contact), arguments) if action.prepare else arguments
        except ActionRefused as problem:
            refusals.append(str(problem))
    return prepared, refusals


def question(plugin: DomainPlugin, actions: dict) -> str:
    asked = [_ask(plugin.actions[name], arguments) for name, arguments in actions.items()]
    return " ".join(asked) + " Responde «sí» o «no»."


def _ask(action: Action, arguments: dict) -> str:
    return action.ask(arguments) if action.ask else f"¿Hago esto: {action.description}?"


def propose(db: Database, contact: Contact, plugin: DomainPlugin, actions: dict) -> None:
    db.execute("INSERT INTO pending_actions (contact_id, domain, actions, created_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(contact_id) DO UPDATE SET domain = excluded.domain, actions = excluded.actions, "
               "created_at = excluded.created_at",
               [contact.id, plugin.name, json.dumps(actions, ensure_ascii=False), now()])


def pending(db: Database, contact: Contact, domain: str) -> dict | None:
    row = db.execute("SELECT actions FROM pending_actions WHERE contact_id = ? AND domain = ? AND created_at >= ?",
                     [contact.id, domain, now() - PENDING_FOR_S]).fetchone()
    return json.loads(row[0]) if row else None


def drop_pending(db: Database, contact: Contact) -> None:
    db.execute("DELETE FROM pending_actions WHERE contact_id = ?", [contact.id])


def run(db: Database, contact: Contact, plugin: DomainPlugin, actions: dict) -> tuple[dict, list[str]]:
    """Runs each action in a savepoint, so one that fails leaves no half-write and does not take the
    reply down; returns the executed ones and what the user must be told about refused ones."""
    executed, refusals = {}, []
    for name, arguments in actions.items():
        action = plugin.actions[name]
        db.execute("SAVEPOINT action")
        try:
            undo = action.run(ActionContext(db, contact), arguments)
        except ActionRefused as problem:
            db.execute("ROLLBACK TO action")
            refusals.append(str(problem))
        except Exception as problem:
            db.execute("ROLLBACK TO action")
            log.error("action failed", extra={"action": name, "error": repr(problem)})
            refusals.append("No pude guardar eso por un error mío; ya quedó registrado para revisarlo.")
        else:
            executed[name] = arguments
            db.execute("INSERT INTO action_log (contact_id, domain, action, arguments, undo, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [contact.id, plugin.name, name, json.dumps(arguments, ensure_ascii=False),
                        json.dumps(undo, ensure_ascii=False) if undo is not None and action.undo else None, now()])
        db.execute("RELEASE action")
    return executed, refusals


def read_back(plugin: DomainPlugin, executed: dict) -> str:
    return " ".join(plugin.actions[name].confirm(arguments) if plugin.actions[name].confirm
                    else f"Hecho: {plugin.actions[name].description}." for name, arguments in executed.items())


def undoable(db: Database, contact: Contact, domain: str) -> tuple | None:
    return db.execute("SELECT id, action, arguments, undo FROM action_log WHERE contact_id = ? AND domain = ? "
                      "AND undone_at IS NULL AND created_at >= ? ORDER BY id DESC LIMIT 1",
                      [contact.id, domain, now() - UNDO_FOR_S]).fetchone()


def undo_last(db: Database, contact: Contact, plugin: DomainPlugin) -> str:
    row = undoable(db, contact, plugin.name)
    if row is None:
        return "No tengo ningún cambio reciente para deshacer."
    log_id, name, arguments, undo = row
    action = plugin.actions.get(name)
    if undo is None or action is None or action.undo is None:
        return "Ese último cambio no se puede deshacer por aquí; escríbeme cómo debe quedar y lo corrijo."
    db.execute("SAVEPOINT undo")
    try:
        action.undo(ActionContext(db, contact), json.loads(undo))
    except Exception as problem:
        db.execute("ROLLBACK TO undo")
        db.execute("RELEASE undo")
        log.error("undo failed", extra={"action": name, "error": repr(problem)})
        return "No pude deshacer ese cambio; ya quedó registrado para revisarlo."
    db.execute("RELEASE undo")
    db.execute("UPDATE action_log SET undone_at = ? WHERE id = ?", [now(), log_id])
    what = plugin.actions[name].confirm(json.loads(arguments)) if plugin.actions[name].confirm else name
    return f"Listo, lo deshice. Ya no cuenta: «{what}»"
