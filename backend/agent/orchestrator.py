"""What happens behind POST /agent, in order:

1. find the contact (an unknown phone starts onboarding) and store the inbound message first,
   in its own transaction, so nothing is lost whatever fails next;
2. build the context: profile, the last 20 messages of 24 h, the plug-in's computed facts, and
   passages recalled with FTS5 from older messages and the knowledge base;
3. ask the model (primary, then secondary), or fall back to a cached answer to the same question
   with the same facts, or to a polite apology;
4. run only the actions the domain registered, with valid arguments; store the reply.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import jsonschema
import sqlite_utils

from backend import conversation
from backend.agent import onboarding
from backend.agent.model_client import ModelClient, ModelUnavailable
from backend.agent.output_schema import output_schema
from backend.contacts import Contact, create_contact, find_contact, update_contact
from backend.plugins.base import ActionContext, ActionRefused, DomainPlugin
from backend.store.database import Store, now, transaction
from backend.text import plain

log = logging.getLogger(__name__)

APOLOGY = ("Lo siento, ahora no puedo responder. Tu mensaje quedó guardado; "
           "inténtalo de nuevo en unos minutos.")
QUOTA_REACHED = "Llegaste al límite de consultas de hoy. Mañana sigo contigo."
NOT_SURE = "No estoy seguro de haberte entendido. ¿Me lo dices de otra forma?"
OPT_OUT_WORDS = {"baja", "stop", "parar", "cancelar alertas"}
OPT_IN_WORDS = {"alta", "start"}


@dataclass
class AgentReply:
    model_output: dict
    source: str  # model, secondary, cache, apology, quota, onboarding, opt-out, duplicate
    orchestration_s: float = 0.0  # time spent here, the model call excluded


class Orchestrator:
    def __init__(self, store: Store, plugins: dict[str, DomainPlugin], model: ModelClient,
                 daily_calls: dict[str, int]):
        self.store = store
        self.plugins = plugins
        self.model = model
        self.daily_calls = daily_calls  # endpoint label -> calls per contact and day; 0 = unlimited

    def handle(self, phone: str, message: str, role: str, wa_message_id: str | None = None) -> AgentReply:
        started = time.perf_counter()
        db = self.store.db
        with transaction(db):
            contact = find_contact(db, phone)
            is_new = contact is None
            if is_new:
                contact = create_contact(db, phone, onboarding.first_step(self.plugins))
            inbound_id = conversation.inbound_by_whatsapp_id(db, wa_message_id) if wa_message_id else None
            if inbound_id is not None:
                stored = conversation.reply_to(db, inbound_id)
                if stored is not None:  # a retried webhook: same answer, stored once
                    return AgentReply(self._output(role, stored[0]), "duplicate")
            else:
                inbound_id = conversation.store_inbound(db, contact.id, message, wa_message_id)

        # A contact whose domain plug-in was switched off is onboarded again (onboarding.advance).
        if is_new or not contact.onboarded or contact.domain not in self.plugins:
            return self._reply_without_model(db, contact, inbound_id, role, "onboarding", started,
                                             lambda: onboarding.start(db, contact, self.plugins) if is_new
                                             else onboarding.advance(db, contact, message, self.plugins))
        keyword = plain(message)
        if keyword in OPT_OUT_WORDS or keyword in OPT_IN_WORDS:
            return self._reply_without_model(db, contact, inbound_id, role, "opt-out", started,
                                             lambda: self._set_opt_out(db, contact, keyword in OPT_OUT_WORDS))
        return self._answer(db, contact, inbound_id, message, role, started)

    # -- replies that need no model ----------------------------------------------------------
    def _reply_without_model(self, db, contact, inbound_id, role, source, started, compose) -> AgentReply:
        with transaction(db):
            text = compose()
            conversation.store_reply(db, contact.id, text, source, inbound_id)
        return AgentReply(self._output(role, text), source, time.perf_counter() - started)

    @staticmethod
    def _set_opt_out(db, contact: Contact, opted_out: bool) -> str:
        update_contact(db, contact, opted_out=int(opted_out))
        if opted_out:
            return "Listo, ya no te enviaré alertas. Escribe ALTA si quieres recibirlas otra vez."
        return "¡Bienvenido de vuelta! Volverás a recibir alertas."

    @staticmethod
    def _output(role: str, text: str, actions: dict | None = None, state: dict | None = None) -> dict:
        return {"role": role, "respuesta_chat": text, "acciones": actions or {}, "estado": state or {}}

    # -- the model path ------------------------------------------------------------------------
    def build_context(self, db: sqlite_utils.Database, contact: Contact, plugin: DomainPlugin, message: str,
                      inbound_id: int) -> dict:
        history = conversation.recent_messages(db, contact.id, before_id=inbound_id)
        context = {
            "usuario": {"nombre": contact.name, **contact.profile},
            "hechos": plugin.facts(db, contact),
            "historial": [{"de": m["de"], "texto": m["texto"][:300]} for m in history],
            "mensaje": message,
        }
        recalled = conversation.recall_messages(db, contact.id, message,
                                                exclude_ids={m["id"] for m in history} | {inbound_id})
        if recalled:
            context["recuerdos"] = recalled
        knowledge = conversation.search_knowledge(db, plugin.name, message)
        if knowledge:
            context["conocimiento"] = knowledge
        return context

    def _answer(self, db, contact: Contact, inbound_id: int, message: str, role: str, started: float) -> AgentReply:
        plugin = self.plugins[contact.domain]
        context = self.build_context(db, contact, plugin, message, inbound_id)
        schema = output_schema(plugin)
        cache_key = self._cache_key(plugin.name, message, context["hechos"])
        model_s = 0.0
        endpoints = self._endpoints_within_quota(db, contact)
        if endpoints:
            model_started = time.perf_counter()
            try:
                output, source = self.model.ask(plugin.system_prompt, context, schema, endpoints)
            except ModelUnavailable as problem:
                log.warning("model unavailable; falling back", extra={"error": str(problem)})
                output, source = self._cached_or(db, cache_key, plugin, APOLOGY, "apology", role)
            model_s = time.perf_counter() - model_started
        else:
            output, source = self._cached_or(db, cache_key, plugin, QUOTA_REACHED, "quota", role)

        with transaction(db):
            requested = output.get("acciones", {}) if source in ("model", "secondary") else {}
            executed, refused, refusals = self._run_actions(
                db, contact, plugin, self._with_detected(plugin, contact, message, requested), message)
            if refusals:  # the plug-in said why it could not do what the user asked
                text = " ".join(refusals)
            elif refused:
                # The model asked for something the user did not say: its text would claim it
                # anyway. What did run (recognized in the user's words) is still confirmed.
                text = " ".join(self._confirmations(plugin, executed)) or NOT_SURE
            else:
                text = self._confirmed(plugin, executed, output["respuesta_chat"])
            if not refusals and not executed:
                text = self._with_computed_figure(plugin, message, context["hechos"], text, refused)
            output = {**output, "role": role, "acciones": executed, "respuesta_chat": text}
            conversation.store_reply(db, contact.id, output["respuesta_chat"], source, inbound_id)
            if source in ("model", "secondary"):
                self._count_model_call(db, contact, source)
                db.execute("INSERT OR REPLACE INTO answer_cache (question_key, domain, answer, created_at) "
                           "VALUES (?, ?, ?, ?)", [cache_key, plugin.name, json.dumps(output, ensure_ascii=False), now()])
        return AgentReply(output, source, time.perf_counter() - started - model_s)

    @staticmethod
    def _cache_key(domain: str, message: str, facts: dict) -> str:
        # The facts are part of the key: a cached answer is reused only where it is still true.
        material = json.dumps([domain, plain(message), facts], sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(material.encode()).hexdigest()

    def _cached_or(self, db, cache_key: str, plugin: DomainPlugin, text: str, source: str, role: str):
        row = db.execute("SELECT answer FROM answer_cache WHERE question_key = ? AND domain = ?",
                         [cache_key, plugin.name]).fetchone()
        if row:
            return json.loads(row[0]), "cache"
        return self._output(role, text), source

    @staticmethod
    def _with_detected(plugin: DomainPlugin, contact: Contact, message: str, requested: object) -> object:
        """The model's actions plus those the plug-in's code recognizes in the message: a small model
        often answers "anotado" without asking for the action; the user's run must still be saved.
        Where both name the same action, the code's arguments win (they come from the user's words)."""
        detected = plugin.detect(message, contact)
        if not detected:
            return requested
        return {**(requested if isinstance(requested, dict) else {}), **detected}

    def _run_actions(self, db, contact: Contact, plugin: DomainPlugin, requested: object,
                     message: str) -> tuple[dict, int, list[str]]:
        """Only registered actions with valid arguments that the user's message supports run; each
        in a savepoint, so one that fails leaves no half-write and does not take the reply down
        with it. Returns the executed actions, how many were refused, and what the user must be
        told about actions the plug-in itself refused (ActionRefused)."""
        executed, refused, refusals = {}, 0, []
        if not isinstance(requested, dict):
            return executed, refused, refusals
        for name, arguments in requested.items():
            action = plugin.actions.get(name)
            if action is None:
                log.warning("refused unknown action", extra={"action": name, "domain": plugin.name})
                refused += 1
                continue
            try:
                jsonschema.validate(arguments, action.schema)
            except jsonschema.ValidationError as problem:
                log.warning("refused invalid action", extra={"action": name, "error": problem.message})
                refused += 1
                continue
            if action.grounded and not action.grounded(message, arguments):
                log.warning("refused action the message does not support", extra={"action": name})
                refused += 1
                continue
            db.execute("SAVEPOINT action")
            try:
                action.run(ActionContext(db=db, contact=contact), arguments)
            except ActionRefused as problem:
                db.execute("ROLLBACK TO action")
                log.info("action refused by its plug-in", extra={"action": name, "reason": str(problem)})
                refusals.append(str(problem))
            except Exception as problem:
                db.execute("ROLLBACK TO action")
                log.error("action failed", extra={"action": name, "error": repr(problem)})
            else:
                executed[name] = arguments
            db.execute("RELEASE action")
        return executed, refused, refusals

    def _confirmed(self, plugin: DomainPlugin, executed: dict, reply: str) -> str:
        """The model's reply if it carries every executed action's confirmation, else the
        confirmations themselves: the user must learn what was done, exactly."""
        confirmations = self._confirmations(plugin, executed)
        if all(plain(c) in plain(reply) for c in confirmations):
            return reply
        return " ".join(confirmations)

    @staticmethod
    def _with_computed_figure(plugin: DomainPlugin, message: str, facts: dict, text: str, refused: int) -> str:
        """A question whose answer is a computed figure: the reply must carry it. A small model
        often drops or garbles it, or is down (the apology); then the plug-in's sentence is the reply."""
        answer = plugin.answer_from_facts(message, facts)
        if answer is None or (not refused and plain(answer.figure) in plain(text)):
            return text
        return answer.sentence

    @staticmethod
    def _confirmations(plugin: DomainPlugin, executed: dict) -> list[str]:
        return [plugin.actions[name].confirm(arguments) for name, arguments in executed.items()
                if plugin.actions[name].confirm]

    def _today(self) -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%d")

    def _endpoints_within_quota(self, db, contact: Contact) -> set[str]:
        """The model endpoints this contact may still use today: when the large model's quota is
        spent, the small (secondary) one answers, if it has a quota left."""
        used = dict(db.execute("SELECT endpoint, calls FROM model_calls WHERE contact_id = ? AND day = ?",
                               [contact.id, self._today()]).fetchall())
        labels = [endpoint.label for endpoint in self.model.endpoints]
        return {label for label in labels
                if not self.daily_calls.get(label) or used.get(label, 0) < self.daily_calls[label]}

    def _count_model_call(self, db, contact: Contact, endpoint: str) -> None:
        db.execute("INSERT INTO model_calls (contact_id, day, endpoint, calls) VALUES (?, ?, ?, 1) "
                   "ON CONFLICT(contact_id, day, endpoint) DO UPDATE SET calls = calls + 1",
                   [contact.id, self._today(), endpoint])
