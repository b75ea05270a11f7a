"""Understanding a message for one domain: read it once, place it with the matcher, and ask the
model to classify only what the matcher is unsure of. Every decision is recorded on the Reading
(intent, via, slots), so quality can be measured per path."""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from backend.plugins.base import DomainPlugin
from backend.understanding import classifier
from backend.understanding.intents import CORE, CORE_INTENTS, FACT, OPEN_QUESTION, Intent
from backend.understanding.matcher import IntentMatcher, Match, best_of
from backend.understanding.reading import Lexicon, Reading, normalize, question_clauses, read

log = logging.getLogger(__name__)

# Below the matcher's confidence its best guess is still right about 3 times in 4 from this score
# up (development part of the labelled set), more often than the 0.5B model picking among the
# same candidates (42-52 %, bench/understanding.py): the model classifies only what scores lower.
GUESS_SCORE = 0.35
# A guess must also beat the open question's own score by this much: an open question that shares
# a word or two with a fact («cada cuánto deshierbo», «cada cuánto riego») is not that fact.
GUESS_OVER_OPEN = 0.1
# A message whose best domain intent scores below this shares almost nothing with any of them: it
# is an open question, answered as one without a classification call: asked to choose for the 80
# open questions of the labelled set, the 0.5B model picked them right 5 times in 27; with this
# floor and GUESS_OVER_OPEN, 72 of the 80 end open (was 55) and the rest of the set loses nothing
# (bench/understanding.py --model).
OPEN_BELOW = 0.25
ACTS_ON_DATA = ("deshacer", "confirmar", "negar")
# A question with words of its own is not small talk: «¿cómo sé qué semilla es buena?» shares
# «buena» with «buenas tardes», «¿qué tal?» is still a greeting.
SMALL_TALK = ("saludo", "gracias")
# «¿por qué…?» asks for a reason, which no computed fact gives: never guessed onto one (the matcher
# can still place it with confidence: «¿por qué no me toca regar hoy?»).
WHY = re.compile(r"^\s*(?:por\s*que|xq|pq)\b")


@dataclass
class Placed:
    intent: Intent
    classify_s: float = 0.0  # time spent in the classification call, 0 when the matcher decided


class Understanding:
    def __init__(self, plugins: dict[str, DomainPlugin]):
        self.intents = {name: list(CORE_INTENTS) + list(plugin.intents) for name, plugin in plugins.items()}
        self.by_name = {domain: {intent.name: intent for intent in intents} for domain, intents in self.intents.items()}
        self.marks = {name: plugin.mark_entities for name, plugin in plugins.items()}
        vocabulary = {word for name, intents in self.intents.items() for intent in intents
                      for example in intent.examples for word in _words(example, self.marks[name])}
        self.lexicon = Lexicon(vocabulary)
        self.matchers = {name: IntentMatcher(intents, self.lexicon, self.marks[name])
                         for name, intents in self.intents.items()}
        self.prompts = {name: classifier.system_prompt(plugin.label) for name, plugin in plugins.items()}

    def read(self, text: str, domain: str | None = None) -> Reading:
        return read(text, self.lexicon, self.marks.get(domain))

    def fact_question(self, text: str, domain: str) -> tuple[Intent, Reading] | None:
        """The fact question `text` asks, when the matcher is sure of it (a second question in a
        message that reported something)."""
        reading = self.read(text, domain)
        match = self.match(reading, domain)
        if match is None or not match.confident:
            return None
        intent = self.by_name[domain][match.intent]
        return (intent, reading) if intent.kind == FACT else None

    def fact_questions(self, text: str, domain: str) -> tuple[list[tuple[Intent, Reading]], bool]:
        """The different fact questions among a message's parts, each worded as a question and placed
        with confidence, in the order asked («¿en qué etapa está mi maíz? ¿y cuándo riego?»; «¿a qué
        ritmo debo correr? mi mejor 10k es 50 minutos»), and whether they are the whole message.
        None found for a message of one part: the whole message is placed as usual."""
        clauses = question_clauses(text)
        if len(clauses) < 2:
            return [], False
        asked, seen, parts = [], set(), 0
        for clause in clauses:
            fact = self.fact_question(clause, domain)
            if fact is None or not fact[1].is_question:  # «soy corredor» beside a question is not asking
                continue
            parts += 1
            if fact[0].name not in seen:
                seen.add(fact[0].name)
                asked.append(fact)
        return asked, parts == len(clauses)

    def open_intent(self, domain: str) -> Intent:
        return self.by_name[domain][OPEN_QUESTION]

    def match(self, reading: Reading, domain: str) -> Match | None:
        return self.matchers[domain].match(reading)

    def place(self, reading: Reading, plugin: DomainPlugin, last_reply: str | None, ask_model,
              detected: dict | None = None) -> Placed:
        """Sets reading.intent/via/slots. `detected` is what the plug-in's detectors
        found in the message ({action: arguments}): a statement they read is that action.
        `ask_model(system, context, schema, max_tokens)` returns the model's JSON or raises; None
        means no model call may be made (down, over quota)."""
        by_name = self.by_name[plugin.name]
        matcher = self.matchers[plugin.name]
        ranked = matcher.scores(reading).most_common()  # scored once, read three ways
        if reading.is_question and ranked and ranked[0][0] in SMALL_TALK \
                and not set(reading.stems) <= matcher.vocabulary[ranked[0][0]]:
            ranked = [(name, score) for name, score in ranked if name not in SMALL_TALK]
        match = best_of(ranked)
        started = time.perf_counter()
        name, via, asked = OPEN_QUESTION, "fallback", False
        detected_intents = [action for action in (detected or {}) if action in by_name]
        # A statement the detectors read is that change; a question only when the matcher agrees
        # it asks for a change ("¿a cuánto el km en el tempo de 20 min?" is not a run to log). A
        # statement followed by a question ("corrí 8 km en 45 min, ¿qué toca mañana?") is a statement.
        statement = not reading.is_question or reading.trailing_question is not None
        if detected_intents and (statement or (match is not None and match.intent in detected_intents)):
            name, via = detected_intents[0], "detector"
        elif reading.greeted and (match is None or match.score < GUESS_SCORE):
            name, via = "saludo", "matcher"  # "saludos desde Huancayo": a greeting with words around it
        elif match is not None and match.confident:
            name, via = match.intent, "matcher"
        elif (guess := _guess(ranked)) is not None:
            name, via = guess, "guess"
            if WHY.match(reading.normalized) and by_name[guess].kind == FACT:
                name = OPEN_QUESTION
        elif _best_domain_score(ranked, by_name) < OPEN_BELOW:
            name, via = OPEN_QUESTION, "unmatched"
        elif ask_model is not None and len(options := _candidates(ranked, by_name)) > 1:
            asked = True
            try:
                answer = ask_model(self.prompts[plugin.name],
                                   classifier.user_part(reading.text, last_reply, [by_name[o] for o in options]),
                                   classifier.schema(options), classifier.MAX_TOKENS)
                name, via = answer["intencion"], "model"
            except Exception as problem:  # the model down is not the user's problem: fall back
                log.warning("classification call failed", extra={"error": str(problem)[:200]})
        reading.intent, reading.via = name, via
        reading.slots = plugin.read_slots(reading, name)
        classify_s = time.perf_counter() - started if asked else 0.0  # a failed call took time too
        return Placed(by_name.get(name, by_name[OPEN_QUESTION]), classify_s)



def _guess(ranked: list[tuple[str, float]]) -> str | None:
    """The best intent scoring GUESS_SCORE or more and GUESS_OVER_OPEN more than the open question,
    but never «deshacer», «sí» or «no»: those act on the user's data, and are only ever placed with
    confidence."""
    open_score = dict(ranked).get(OPEN_QUESTION, 0.0)
    for name, score in ranked:
        if score < GUESS_SCORE:
            return None
        if name == OPEN_QUESTION:
            return name
        if name not in ACTS_ON_DATA:
            return name if score - open_score >= GUESS_OVER_OPEN else OPEN_QUESTION
    return None


def _best_domain_score(ranked: list[tuple[str, float]], by_name: dict[str, Intent]) -> float:
    return max((score for name, score in ranked if by_name[name].kind != CORE and name != OPEN_QUESTION),
               default=0.0)


def _candidates(ranked: list[tuple[str, float]], by_name: dict[str, Intent]) -> list[str]:
    """The domain's best-scoring intents: a message the matcher could not place is never a bare
    «hola», «gracias» or «sí» (those it places), so core intents are left out."""
    chosen = [name for name, _ in ranked if by_name[name].kind != CORE and name != OPEN_QUESTION]
    return chosen[:classifier.CANDIDATES - 1] + [OPEN_QUESTION]


def _words(text: str, mark) -> list[str]:
    normalized = normalize(text)
    return re.findall(r"[a-z]+", normalized + " " + mark(normalized))
