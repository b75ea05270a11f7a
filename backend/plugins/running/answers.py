"""The runner's everyday questions answered from the computed facts, for when the model's reply
does not carry the figure (or the model is down): the orchestrator then sends this sentence.

Each rule: words that recognize the question, and the fact that answers it."""
from __future__ import annotations

import re

from backend.plugins.base import FactAnswer
from backend.text import fold

QUESTIONS = [  # (pattern on the folded message, builder), first match wins
    (r"\b(tempo|umbral)\b", lambda f: _pace_answer(f, "umbral_tempo", "Tu ritmo de tempo (umbral) es")),
    (r"\b(intervalos?|series)\b.*\britmo|\britmo\b.*\b(intervalos?|series)\b",
     lambda f: _pace_answer(f, "intervalos", "Tus intervalos van a")),
    (r"\britmo\b.*\b(suave|facil|rodaje)\b|\b(suave|facil|rodaje)\b.*\britmo\b",
     lambda f: _pace_answer(f, "suave", "Tu ritmo suave es")),
    (r"\bcansad[oa]|agotad[oa]|sin energia\b", lambda f: _plain(f, "si_esta_cansado")),
    (r"\bmanana\b.*\b(toca|entren|hago|corro)|\b(toca|entreno|hago)\b.*\bmanana\b",
     lambda f: _session(f, "entrenamiento_manana", "Mañana")),
    (r"\b(hoy|toca)\b", lambda f: _session(f, "entrenamiento_hoy", "Hoy")),
    (r"\b(este mes|en el mes)\b", lambda f: _volume(f, "este_mes", "Este mes llevas")),
    (r"\b(esta semana|en la semana)\b", lambda f: _volume(f, "esta_semana", "Esta semana llevas")),
]


def answer_from_facts(message: str, facts: dict) -> FactAnswer | None:
    folded = fold(message)
    if "?" not in message and not folded.startswith(("que", "cuanto", "a que", "como", "cual")):
        return None  # statements ("hoy corrí…") are the actions' business
    for pattern, build in QUESTIONS:
        if re.search(pattern, folded):
            return build(facts)
    return None


def _pace_answer(facts: dict, key: str, lead: str) -> FactAnswer | None:
    pace = facts.get("ritmos", {}).get(key)
    if pace is None:
        return FactAnswer("Aún no tengo tu ritmo: cuéntame una carrera reciente (por ejemplo «corrí 5 km en "
                          "25 min») y lo calculo.", "cuéntame una carrera")
    return FactAnswer(f"{lead} {pace}.", pace)


def _session(facts: dict, key: str, day: str) -> FactAnswer | None:
    session = facts.get(key)
    if not session:
        return None
    return FactAnswer(f"{day} toca: {session}.", session)


def _volume(facts: dict, key: str, lead: str) -> FactAnswer | None:
    volume = facts.get(key)
    return FactAnswer(f"{lead} {volume}.", volume.split(" en ")[0]) if volume else None


def _plain(facts: dict, key: str) -> FactAnswer | None:
    sentence = facts.get(key)
    return FactAnswer(sentence, sentence) if sentence else None
