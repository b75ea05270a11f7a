"""What happens behind POST /agent: understand first, answer from code, generate last.

1. find the contact (an unknown phone starts onboarding) and store the inbound message first,
   in its own transaction, so nothing is lost whatever fails next;
2. read the message once (backend.understanding) and place it: the plug-in's detectors and the
   matcher decide in code; only what they cannot place goes to a short classification call;
3. act on it:
   - «sí»/«no» to a pending change, «deshacer» for the last one (backend.agent.changes);
   - a change to the user's data: a report that carries its own figures runs and is read back,
     anything else is asked first and runs only after «sí»;
   - a fact question: answered from the plug-in's computed facts, no generative call;
   - greeting, thanks, help, a person, my data: answered by code;
   - «gracias» / «no me sirvió» right after a reply rate it (backend.ratings); asking for a
     person, two replies in a row not understood, or a bad rating put the conversation in the
     officers' inbox (backend.takeovers); while an officer holds it, the bot is silent;
   - «MIS DATOS» / «BORRAR MIS DATOS», at any step (backend.personal_data);
   - an open question: the answer call, with a prompt built to a token budget (agent.answering);
4. store the reply with where it came from (`source`: code, action, model, cache, apology…).
The model never decides that data changes."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from backend import conversation, personal_data, ratings, takeovers
from backend.agent import answering, changes, core_replies, onboarding
from backend.agent.model_client import ModelClient, ModelUnavailable
from backend.alerts.repository import queue_outbound
from backend.contacts import Contact, create_contact, find_contact, note_channel, update_contact
from backend.plugins.base import DomainPlugin
from backend.store.database import Store, now, transaction
from backend.understanding import classifier
from backend.understanding.intents import ACTION, CORE, FACT, Intent
from backend.understanding.reading import Reading, normalize
from backend.understanding.understand import Placed, Understanding

log = logging.getLogger(__name__)

QUOTA_REACHED = "Llegaste al límite de consultas de hoy. Mañana sigo contigo."
OPT_OUT_WORDS = {"baja", "stop", "parar", "cancelar alertas"}
OPT_IN_WORDS = {"alta", "start"}
UNDO_HINT = " Si algo no es así, escribe «deshacer»."
ANSWER_CHECK = {"type": "object", "properties": {"respuesta_chat": {"type": "string", "minLength": 1}},
                "required": ["respuesta_chat"]}


YES_NO = ("sí", "no")  # offered with every question that waits for a «sí»


@dataclass
class AgentReply:
    model_output: dict
    source: str  # code, action, model, secondary, cache, apology, quota, onboarding, opt-out, duplicate
    orchestration_s: float = 0.0  # time spent here, the model calls excluded
    timings: dict = field(default_factory=dict)  # classify_ms, generate_ms when those calls were made
    options: tuple[str, ...] = ()  # the choices a question offers (buttons or a list where the transport has them)
    silent: bool = False  # an officer holds the conversation: the bridge sends nothing
    forget: bool = False  # the contact was erased: the bridge forgets the phone too


@dataclass
class Turn:
    """One inbound message on its way through the pipeline."""
    contact: Contact
    plugin: DomainPlugin
    inbound_id: int
    reading: Reading
    intent: Intent
    detected: dict
    role: str
    model_s: float = 0.0
    timings: dict = field(default_factory=dict)
    prefix: str = ""  # said before the answer (the end of onboarding: what was understood and assumed)
    suffix: str = ""  # and after it (a question asked later, once)
    options: tuple[str, ...] = ()  # the answers the reply offers
    # several fact questions in one message, each with its own reading: all answered, in order
    questions: list[tuple[Intent, Reading]] = field(default_factory=list)


class Orchestrator:
    def __init__(self, store: Store, plugins: dict[str, DomainPlugin], model: ModelClient,
                 daily_calls: dict[str, int], takeover_idle_s: float = 12 * 3600):
        self.store = store
        self.takeover_idle_s = takeover_idle_s  # an officer silent this long gives the conversation back
        self.plugins = plugins
        self.model = model
        self.daily_calls = daily_calls  # endpoint label -> calls per contact and day; 0 = unlimited
        self.understanding = Understanding(plugins)

    def warm_up_prompts(self) -> list[tuple[str, dict]]:
        """Each plug-in's two fixed prompts: the classification call's and the answer call's."""
        prompts = []
        for name, plugin in self.plugins.items():
            options = [intent.name for intent in self.understanding.intents[name]]
            prompts.append((self.understanding.prompts[name], classifier.schema(options)))
            prompts.append((plugin.system_prompt, answering.SCHEMA))
        return prompts

    def handle(self, phone: str, message: str, role: str, wa_message_id: str | None = None,
               name: str | None = None, channel: str = "") -> AgentReply:
        """`name` is the user's WhatsApp profile name when the bridge knows it (used, never asked);
        `channel` the business number the message came to (its bridge sends the contact's alerts)."""
        started = time.perf_counter()
        db = self.store.db
        with transaction(db):
            contact = find_contact(db, phone)
            is_new = contact is None
            if is_new:
                contact = create_contact(db, phone, onboarding.first_step(self.plugins))
            if channel:
                note_channel(db, contact.id, channel)
            inbound_id = conversation.inbound_by_whatsapp_id(db, wa_message_id) if wa_message_id else None
            if inbound_id is not None:
                stored = conversation.reply_to(db, inbound_id)
                if stored is not None:  # a retried webhook: same answer, stored once
                    return AgentReply(self._output(role, stored[0]), "duplicate")
            else:
                inbound_id = conversation.store_inbound(db, contact.id, message, wa_message_id)
            officer = None if is_new else takeovers.holder(db, contact.id, self.takeover_idle_s)
        # A person's rights over their data come first, even while an officer attends them.
        personal = self._personal_data(db, contact, inbound_id, message, role, started)
        if personal is not None:
            return personal
        if officer is not None:  # stored for the officer's inbox; the bot says nothing
            return AgentReply(self._output(role, ""), "officer", time.perf_counter() - started, silent=True)

        # A contact whose domain plug-in was switched off is onboarded again (onboarding.advance).
        if is_new or not contact.onboarded or contact.domain not in self.plugins:
            return self._onboard(db, contact, inbound_id, message, role, started, is_new, name)
        if (contact.onboarding_step or "").startswith(onboarding.LATER_PREFIX):
            answered = self._later(db, contact, inbound_id, message, role, started)
            if answered is not None:
                return answered
        reading = self.understanding.read(message, contact.domain)
        keyword = reading.normalized.strip(" .!¡")
        if keyword in OPT_OUT_WORDS or keyword in OPT_IN_WORDS:
            return self._reply_without_model(db, contact, inbound_id, role, "opt-out", started,
                                             lambda: self._set_opt_out(db, contact, keyword in OPT_OUT_WORDS))
        reading.turn = inbound_id
        return self._answer(db, contact, inbound_id, reading, role, started)

    def _onboard(self, db, contact: Contact, inbound_id: int, message: str, role: str, started: float,
                 is_new: bool, name: str | None) -> AgentReply:
        """Onboarding needs no model; on the turn it ends, the question it kept (or the plug-in's
        first one) is answered at once, after what was understood and assumed."""
        with transaction(db):
            step = onboarding.start(db, contact, message, self.plugins, name) if is_new else \
                onboarding.advance(db, contact, message, self.plugins)
            if step.question is None:
                conversation.store_reply(db, contact.id, step.text, "onboarding", inbound_id)
                return AgentReply(self._output(role, step.text), "onboarding", time.perf_counter() - started,
                                  options=step.options)
        with transaction(db):
            later = onboarding.ask_later(db, contact, self.plugins[contact.domain])
        return self._answer_kept(db, contact, inbound_id, step, role, started, later)

    def _answer_kept(self, db, contact: Contact, inbound_id: int, step: onboarding.Step, role: str,
                     started: float, suffix: str = "") -> AgentReply:
        """The question onboarding kept (or a field asked later now allows), answered the usual way."""
        reading = self.understanding.read(step.question, contact.domain)
        reading.turn = inbound_id
        return self._answer(db, contact, inbound_id, reading, role, started, prefix=step.text, suffix=suffix)

    def _later(self, db, contact: Contact, inbound_id: int, message: str, role: str, started: float):
        """The answer to a question asked after the first answer; None when the message is another
        thing (it goes the normal way; the question is not asked again)."""
        with transaction(db):
            step = onboarding.later_answer(db, contact, message, self.plugins[contact.domain])
            if step is not None and step.question is None:
                conversation.store_reply(db, contact.id, step.text, "code", inbound_id)
                return AgentReply(self._output(role, step.text), "code", time.perf_counter() - started)
        return None if step is None else self._answer_kept(db, contact, inbound_id, step, role, started)

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

    # -- understanding ---------------------------------------------------------------------------
    def _answer(self, db, contact: Contact, inbound_id: int, reading: Reading, role: str,
                started: float, prefix: str = "", suffix: str = "") -> AgentReply:
        plugin = self.plugins[contact.domain]
        history = conversation.recent_messages(db, contact.id, before_id=inbound_id)
        last_reply = next((m["texto"] for m in reversed(history) if m["de"] == "chasqui"), None)
        detected = changes.checked(plugin, plugin.detect(reading, contact))
        endpoints = self._endpoints_within_quota(db, contact)
        questions = [] if detected else self._fact_questions(reading, plugin.name)
        if questions:  # placed clause by clause, with confidence: no classification call
            placed = Placed(questions[0][0])
            reading.intent, reading.via = placed.intent.name, "matcher"
            for intent, clause in questions:
                clause.slots, clause.turn = plugin.read_slots(clause, intent.name), inbound_id
        else:
            placed = self.understanding.place(reading, plugin, last_reply, self._classifier(endpoints), detected)
        intent = placed.intent
        if intent.name != "hablar_persona" and not detected and core_replies.asks_for_person(reading.normalized):
            intent = self.understanding.by_name[plugin.name]["hablar_persona"]
        elif intent.kind == ACTION and not detected and reading.via in ("guess", "model"):
            # An unsure placement on a change the words do not carry ("el maíz está amarillo"):
            # an open question, not a request for figures the user never meant to give.
            intent = self.understanding.open_intent(plugin.name)
        turn = Turn(contact, plugin, inbound_id, reading, intent, detected, role, placed.classify_s,
                    prefix=prefix, suffix=suffix, questions=questions)
        if placed.classify_s:
            turn.timings["classify_ms"] = round(placed.classify_s * 1000, 1)
        if intent.kind in (ACTION, FACT, CORE):
            with transaction(db):
                text, source, executed = self._act(db, turn)
                return self._store(db, turn, text, source, executed, started)
        return self._open_question(db, turn, history, endpoints, started)

    def _fact_questions(self, reading: Reading, domain: str) -> list[tuple[Intent, Reading]]:
        """Several fact questions that are the whole message; or, when the message as a whole is not
        placed with confidence, the fact questions among its parts (the rest told during
        onboarding, or an aside). Empty: the message is placed as a whole."""
        asked, whole = self.understanding.fact_questions(reading.text, domain)
        if not asked or (whole and len(asked) > 1):
            return asked
        match = self.understanding.match(reading, domain)
        return [] if match is not None and match.confident else asked

    def _classifier(self, endpoints: set[str]):
        if not endpoints:
            return None

        def ask(system: str, context: str, schema: dict, max_tokens: int) -> dict:
            return self.model.ask(system, context, schema, endpoints, max_tokens=max_tokens, purpose="classify")[0]
        return ask

    # -- acting, answering from code ------------------------------------------------------------
    def _act(self, db, turn: Turn) -> tuple[str, str, dict]:
        contact, plugin, name = turn.contact, turn.plugin, turn.intent.name
        waiting = changes.pending(db, contact, plugin.name)
        changes.drop_pending(db, contact)  # answered or passed over: a later «sí» must not run it
        if waiting and changes.is_yes(turn.reading):
            name = "confirmar"  # «ok», «dale», «listo» to a question are a yes, whatever else they mean
        if name == "confirmar" and waiting:
            executed, refusals = changes.run(db, contact, plugin, waiting)
            text = " ".join(filter(None, [changes.read_back(plugin, executed), *refusals]))
            return text + (UNDO_HINT if executed else ""), "action", executed
        if name == "negar" and waiting:
            return core_replies.DISCARDED, "code", {}
        if name == "deshacer" or (name == "negar" and self._just_changed(db, turn)):
            return changes.undo_last(db, contact, plugin), "action", {}
        if turn.intent.kind == ACTION:
            return self._change(db, turn)
        if turn.intent.kind == FACT:
            facts = plugin.facts(db, contact)
            answers = [intent.answer(facts, reading) for intent, reading in turn.questions or [(turn.intent, turn.reading)]]
            text = "\n\n".join(answer for answer in answers if answer)
            return (text, "code", {}) if text else (answering.honest_menu(plugin.menu), "apology", {})
        return self._core_reply(db, turn), "code", {}

    def _change(self, db, turn: Turn) -> tuple[str, str, dict]:
        """A change the user's words ask for: certain reports run now and are read back; the rest
        is checked and asked first. Named but without its figures: ask for them."""
        contact, plugin = turn.contact, turn.plugin
        if not turn.detected:
            return turn.intent.missing or core_replies.help_text(plugin), "code", {}
        # A report with its own figures runs at once, unless it came as a question ("¿corrí 10 km…?").
        asked = turn.reading.is_question and turn.reading.trailing_question is None
        certain = {} if asked else {n: a for n, a in turn.detected.items() if not plugin.actions[n].asks_first(a)}
        to_ask = {n: a for n, a in turn.detected.items() if n not in certain}
        executed, refusals = changes.run(db, contact, plugin, certain)
        prepared, refused = changes.prepare(db, contact, plugin, to_ask)
        parts = [changes.read_back(plugin, executed) + (UNDO_HINT if executed else ""), *refusals, *refused]
        if prepared:
            question = changes.question(plugin, prepared)
            changes.propose(db, contact, plugin, prepared)
            parts.append(question)
            turn.options = YES_NO  # reply buttons where the transport has them; typing «sí» works too
        elif turn.reading.trailing_question and (asked_fact := self.understanding.fact_question(
                turn.reading.trailing_question, plugin.name)):
            intent, reading = asked_fact  # "…, ¿qué toca mañana?": answered after the report, from fresh facts
            reading.slots, reading.turn = plugin.read_slots(reading, intent.name), turn.inbound_id
            parts.append(intent.answer(plugin.facts(db, contact), reading) or "")
        return " ".join(p.strip() for p in parts if p.strip()), "action", executed

    @staticmethod
    def _just_changed(db, turn: Turn) -> bool:
        """«no» right after a change was read back means "that was not it"."""
        last_out = db.execute("SELECT source FROM messages WHERE contact_id = ? AND direction = 'out' "
                              "ORDER BY id DESC LIMIT 1", [turn.contact.id]).fetchone()
        return last_out is not None and last_out[0] == "action" and \
            changes.undoable(db, turn.contact, turn.plugin.name) is not None

    def _core_reply(self, db, turn: Turn) -> str:
        name, plugin, contact = turn.intent.name, turn.plugin, turn.contact
        if name == "saludo":
            return core_replies.greeting(contact, plugin, turn.inbound_id)
        if name == "gracias":
            self._rate_last_reply(db, turn, 1)
            return core_replies.thanks(turn.inbound_id)
        if name == "no_sirvio":
            rated = self._rate_last_reply(db, turn, -1)
            if not rated:  # nothing to rate: still, a person looks at it
                takeovers.request(db, contact.id, "bad_rating", turn.inbound_id)
            return core_replies.SORRY_NOT_HELPFUL
        if name == "hablar_persona":
            waiting = takeovers.open_takeover(db, contact.id) is not None
            takeovers.request(db, contact.id, "asked", turn.inbound_id)
            return core_replies.ALREADY_ASKED if waiting else core_replies.HANDOFF
        if name == "borrar_datos" and not core_replies.asks_to_erase(turn.reading.normalized):
            name = "mis_datos"  # «quiero ver todo lo que sabes de mí» placed near «borra todo lo que sabes de mí»
        if name == "mis_datos":
            return self._send_my_data(db, contact.id)
        if name == "borrar_datos":
            turn.options = YES_NO
            return self._ask_erase(db, contact.id)
        if name in ("confirmar", "negar"):
            return core_replies.NOTHING_PENDING
        return core_replies.help_text(plugin)

    @staticmethod
    def _rate_last_reply(db, turn: Turn, value: int) -> bool:
        reply_id = ratings.last_rateable_reply(db, turn.contact.id, turn.inbound_id)
        return reply_id is not None and ratings.rate(db, reply_id, value, "text")

    # -- people's own data (at any step, onboarding included) --------------------------------------
    def _personal_data(self, db, contact: Contact, inbound_id: int, message: str, role: str,
                       started: float) -> AgentReply | None:
        """«MIS DATOS» and «BORRAR MIS DATOS» as commands, and the «sí» an erasure waits for; None
        when the message is about something else (then a waiting erasure is dropped)."""
        normalized = normalize(message)
        command = core_replies.personal_data_command(normalized)
        if command is None and not personal_data.erase_pending(db, contact.id, changes.PENDING_FOR_S):
            return None  # nearly every message: no write transaction (on PostgreSQL, no advisory lock)
        with transaction(db):
            if personal_data.erase_pending(db, contact.id, changes.PENDING_FOR_S):
                changes.drop_pending(db, contact)
                if changes.is_yes(self.understanding.read(message)):
                    personal_data.erase(db, contact.id, "chat")
                    return AgentReply(self._output(role, core_replies.ERASED), "code",
                                      time.perf_counter() - started, forget=True)
                if core_replies.is_no(normalized) and command is None:
                    conversation.store_reply(db, contact.id, core_replies.ERASE_CANCELLED, "code", inbound_id)
                    return AgentReply(self._output(role, core_replies.ERASE_CANCELLED), "code",
                                      time.perf_counter() - started)
            if command is None:
                return None
            options: tuple[str, ...] = ()
            if command == "borrar_datos":
                text, options = self._ask_erase(db, contact.id), YES_NO
            else:
                text = self._send_my_data(db, contact.id)
            conversation.store_reply(db, contact.id, text, "code", inbound_id)
        return AgentReply(self._output(role, text), "code", time.perf_counter() - started, options=options)

    def _send_my_data(self, db, contact_id: int) -> str:
        """The summary as the reply; the file of everything through the outbound queue."""
        data = personal_data.export(db, contact_id)
        labels = {table: label for plugin in self.plugins.values() for table, label in plugin.data_labels.items()}
        file_message = conversation.store_reply(db, contact_id, f"📎 {personal_data.EXPORT_NAME}", "code", None)
        queue_outbound(db, contact_id, core_replies.EXPORT_CAPTION, "document", file_message,
                       (personal_data.EXPORT_NAME, personal_data.EXPORT_TYPE, personal_data.export_file(data)))
        return personal_data.summary(data, labels)

    @staticmethod
    def _ask_erase(db, contact_id: int) -> str:
        personal_data.ask_erase(db, contact_id)
        return core_replies.ERASE_QUESTION

    # -- generating, for open questions only ------------------------------------------------------
    def _open_question(self, db, turn: Turn, history: list[dict], endpoints: set[str], started: float) -> AgentReply:
        contact, plugin, reading = turn.contact, turn.plugin, turn.reading
        facts = plugin.facts(db, contact)
        passages = conversation.search_knowledge(db, plugin.name, reading.text, limit=3, chars=4000)
        recalled = conversation.recall_messages(db, contact.id, reading.text,
                                                exclude_ids={m["id"] for m in history} | {turn.inbound_id}, limit=1)
        passage = answering.best_passage(passages, reading.text)
        recalled_text = recalled[0]["texto"] if recalled else None
        profile, compact = self._profile_line(contact), answering.compact_facts(facts)
        context = answering.user_part(profile, compact, passage, recalled_text, reading.text)
        cache_key = self._cache_key(plugin.name, " ".join(reading.words), facts)
        fallback = answering.from_passage(passage) if passage else answering.honest_menu(plugin.menu)
        text, source = None, "quota" if not endpoints else "apology"
        if endpoints:
            model_started = time.perf_counter()
            answered = False  # a model wrote something, usable or not (not: down, then a cached answer may do)
            try:
                answer, tier = self._generate(plugin, context, endpoints, reading.text, recalled_text, passage)
                answered = True
                if answer is None and passage is None:
                    # No answer, and no guide to quote instead: once more, without the recalled
                    # message it may have copied and with the job said plainly.
                    answer, tier = self._generate(plugin, answering.second_try(profile, compact, reading.text),
                                                  endpoints, reading.text, None, None)
                if answer is not None:
                    text, source = answer, tier
            except ModelUnavailable as problem:
                log.warning("model unavailable; falling back", extra={"error": str(problem)})
            if text is None and answered:
                text, source = fallback, "knowledge" if passage else "apology"
            turn.model_s += time.perf_counter() - model_started
            turn.timings["generate_ms"] = round((time.perf_counter() - model_started) * 1000, 1)
        with transaction(db):
            if text is None:
                cached = db.execute("SELECT answer FROM answer_cache WHERE question_key = ? AND domain = ?",
                                    [cache_key, plugin.name]).fetchone()
                if cached:
                    text, source = json.loads(cached[0])["respuesta_chat"], "cache"
                elif source == "quota":
                    text = QUOTA_REACHED + (f" {fallback}" if passage else "")
                else:
                    text, source = fallback, "knowledge" if passage else "apology"
            if source in ("model", "secondary"):
                self._count_model_call(db, contact, source)
                db.execute("INSERT INTO answer_cache (question_key, domain, answer, created_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (question_key, domain) DO UPDATE SET answer = excluded.answer, "
                           "created_at = excluded.created_at", [cache_key, plugin.name,
                                                   json.dumps({"respuesta_chat": text}, ensure_ascii=False), now()])
            return self._store(db, turn, text, source, {}, started)

    def _generate(self, plugin, context: str, endpoints: set[str], question: str, recalled: str | None,
                  passage: dict | None) -> tuple[str | None, str]:
        """One answer call: (its words kept, tier), or (None, tier) when they are no answer."""
        output, source = self.model.ask(plugin.system_prompt, context, answering.SCHEMA, endpoints,
                                        max_tokens=answering.MAX_TOKENS, check=ANSWER_CHECK)
        text = answering.grounded(output["respuesta_chat"], context)
        if not answering.usable(text, question, recalled) or (passage and not answering.supported(text, passage, question)):
            return None, source
        return text, source

    @staticmethod
    def _profile_line(contact: Contact) -> str:
        shown = {k: v for k, v in contact.profile.items() if isinstance(v, str | int | float) and len(str(v)) < 40}
        return ", ".join([contact.name or "", *(f"{k} {v}" for k, v in list(shown.items())[:6])]).strip(", ")

    def _store(self, db, turn: Turn, text: str, source: str, executed: dict, started: float) -> AgentReply:
        state = {"intencion": turn.intent.name, "via": turn.reading.via}
        if source == "apology" and self._not_understood_before(db, turn):
            takeovers.request(db, turn.contact.id, "not_understood", turn.inbound_id)
            text = f"{text}\n\n{core_replies.PERSON_WILL_HELP}"
        text = "\n\n".join(part for part in (turn.prefix, text, turn.suffix) if part)
        conversation.store_reply(db, turn.contact.id, text, source, turn.inbound_id)
        output = self._output(turn.role, text, executed, state)
        return AgentReply(output, source, time.perf_counter() - started - turn.model_s, turn.timings,
                          options=turn.options)

    @staticmethod
    def _not_understood_before(db, turn: Turn) -> bool:
        """The reply before this one was an apology too (and no person is asked for yet)."""
        previous = db.execute("SELECT source FROM messages WHERE contact_id = ? AND direction = 'out' AND id < ? "
                              "AND COALESCE(source, '') != 'notice' ORDER BY id DESC LIMIT 1",
                              [turn.contact.id, turn.inbound_id]).fetchone()
        return previous is not None and previous[0] == "apology" and \
            takeovers.open_takeover(db, turn.contact.id) is None

    @staticmethod
    def _cache_key(domain: str, words: str, facts: dict) -> str:
        # The facts are part of the key: a cached answer is reused only where it is still true.
        material = json.dumps([domain, words, facts], sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(material.encode()).hexdigest()

    # -- quotas ------------------------------------------------------------------------------------
    def _today(self) -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%d")

    def _endpoints_within_quota(self, db, contact: Contact) -> set[str]:
        """The model endpoints this contact may still use today: when the large model's quota is
        spent, the small (secondary) one answers, if it has a quota left."""
        used = dict(db.execute("SELECT endpoint, calls FROM model_calls WHERE contact_id = ? AND day = ?",
                               [contact.id, self._today()]).fetchall())
        return {label for label in self.model.tiers()
                if not self.daily_calls.get(label) or used.get(label, 0) < self.daily_calls[label]}

    def _count_model_call(self, db, contact: Contact, endpoint: str) -> None:
        db.execute("INSERT INTO model_calls (contact_id, day, endpoint, calls) VALUES (?, ?, ?, 1) "
                   "ON CONFLICT(contact_id, day, endpoint) DO UPDATE SET calls = model_calls.calls + 1",
                   [contact.id, self._today(), endpoint])
