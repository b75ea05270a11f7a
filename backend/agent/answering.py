"""The answer call, only for open questions ("¿qué como antes de una carrera larga?"): a prompt
built to a token budget and laid out for prefix reuse, an answer-only schema, and a check of
every figure the model writes against what it was given.

Budget. This CPU evaluates prompts at ~40 tokens/s on a cold cache (~170 with warm threads), so
each token of the user part costs 6–25 ms. The system prompt is fixed per plug-in and stays cached.
The user part is laid out from what changes least to what changes most: the user's profile and
facts (the same on their next question, so still in the KV cache), then the knowledge passage,
one recalled older message and the message. What changes from turn to turn is
held to NEW_TOKENS ≈ 200 tokens (620 characters at ~3.2 characters per token of Spanish on the
default model's tokenizer; bench/conversation_latency.py prints what turns really evaluate).
MAX_TOKENS ≈ a WhatsApp reply of two or three sentences."""
from __future__ import annotations

import re

from backend.text import fold
from backend.understanding.reading import stem

CHARS_PER_TOKEN = 3.2
NEW_TOKENS = 200
MAX_TOKENS = 120
BUDGET = {  # characters per part; all but "datos" change each turn: 320 + 100 + 200 = 620 ≈ NEW_TOKENS
    "datos": 200, "conocimiento": 320, "recuerdo": 100, "mensaje": 200,
}
SCHEMA = {"type": "object", "properties": {"respuesta_chat": {"type": "string", "minLength": 1, "maxLength": 400}},
          "required": ["respuesta_chat"], "additionalProperties": False}
MIN_SHARED_STEMS = 2
SUPPORTED_SHARE = 0.5
ECHO_NEW_STEMS = 0  # an answer that adds no word of its own to the question is the question
# «¡Por supuesto!», «Sí, puedes correr.» to «¿puedo correr con gripe?»: a bare yes or no says nothing.
BARE_YES_OR_NO = re.compile(r"^\W*(si|no|claro|por supuesto|desde luego|bueno|ok)\b")
BARE_WORDS = 3
# Share of an answer's words that may come from the recalled older message and not from the
# question: above it the model copied that message (the welcome, an earlier answer about frost
# for «¿por qué se tumban las plantas con el viento?»: seen with the 0.5B model).
COPIED_SHARE = 0.6
FUNCTION_WORDS = frozenset("""como cuando cuanto cuanta cuantos cuantas cual cuales donde cada puedo debo tengo hago
para pero porque esta este esto estos estas eso esos tiene tienen hacer sobre entre desde hasta mucho mucha muy
bien algo alguna alguno otra otro chacra cultivo campo correr corro corri carrera""".split())
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
NOT_AN_ANSWER = re.compile(r"no estoy seguro|no (lo )?se\b|no puedo (ayudarte|responder)|lo siento|no tengo (esa )?"
                           r"informacion|no entiendo|soy chasqui", re.IGNORECASE)


def compact_facts(facts: dict, limit: int = BUDGET["datos"] - 40) -> str:
    """The facts as short "key: value" pairs, scalars and one level of nesting, cut to `limit`."""
    pairs = []
    for key, value in facts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if isinstance(v, str | int | float))
        elif isinstance(value, list):
            value = "; ".join(", ".join(f"{v}" for k, v in item.items() if k in ("lote", "cultivo", "etapa"))
                              if isinstance(item, dict) else str(item) for item in value[:2])
        pairs.append(f"{key}: {value}")
    return _cut("; ".join(pairs), limit)


def content_stems(text: str) -> set[str]:
    """The stems of the words that say what a text is about (4+ letters, no question words)."""
    words = re.findall(r"[a-z]{4,}", fold(text))
    return {stem(w) for w in words if w not in FUNCTION_WORDS}


def best_passage(passages: list[dict], question: str, limit: int = BUDGET["conocimiento"]) -> dict | None:
    """The knowledge section that shares most content stems with the question, when it shares at
    least MIN_SHARED_STEMS (or all the question has): {"titulo", "texto", "stems"}. A section sharing one word ("chacra")
    is not about the question, and quoting it would be a wrong answer."""
    wanted = content_stems(question)
    best, best_overlap = None, 0.0
    for passage in passages:
        for heading, body in _sections(passage["texto"]):
            stems = content_stems(f"{passage['titulo']} {heading} {body}")
            overlap = len(stems & wanted) + 0.5 * heading.lower().startswith("en breve")
            if overlap > best_overlap:
                best, best_overlap = {"titulo": passage["titulo"], "texto": _cut(body, limit), "stems": stems}, overlap
    needed = min(MIN_SHARED_STEMS, len(wanted))  # "¿cómo hago compost?" has one word to share
    return best if best is not None and needed and best_overlap >= needed else None


def supported(answer: str, passage: dict, question: str) -> bool:
    """Most of what the answer says is in the passage or the question: a small model that drifts
    ("cuando cambias las zapatillas, se inclina hacia un lado") is replaced by the passage."""
    said = content_stems(answer)
    return bool(said) and len(said & (passage["stems"] | content_stems(question))) >= SUPPORTED_SHARE * len(said)


def _sections(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"^## +(.+)$", text, flags=re.MULTILINE)
    sections = [("", parts[0].strip())] if parts[0].strip() else []
    sections += [(parts[i].strip(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    return [(heading, re.sub(r"\s*\n\s*[-•]?\s*", " ", body)) for heading, body in sections if body]


def user_part(profile: str, facts: str, passage: dict | None, recalled: str | None, message: str) -> str:
    """No history line: the 0.5B model answered with it ("Antes: si / Anoté tu molestia…")."""
    lines = []
    if profile or facts:
        lines.append(_cut(f"Usuario: {profile}. {facts}", BUDGET["datos"]))
    if passage:
        lines.append(f"Guía «{passage['titulo']}»: {passage['texto']}")
    if recalled:
        lines.append("Recuerdo: " + _cut(recalled, BUDGET["recuerdo"]))
    lines.append(f"Pregunta: {_cut(message, BUDGET['mensaje'])}")
    return "\n".join(lines)


ASK_AGAIN = "Responde con un consejo concreto y práctico, en dos frases, sin saludar."


def second_try(profile: str, facts: str, message: str) -> str:
    """The user part of a second answer call, after a first that was no answer: no recalled
    message (the 0.5B model copied it) and the job said plainly («¡Por supuesto!» to «¿puedo
    correr con gripe?» became advice)."""
    return f"{user_part(profile, facts, None, None, message)}\n{ASK_AGAIN}"


def grounded(answer: str, context: str) -> str:
    """The answer without the sentences whose figures are not in the context: the model copies
    and invents numbers; a reply keeps only those it was given."""
    known = set(NUMBER.findall(context))
    sentences = re.split(r"(?<=[.!?])\s+", answer.strip())
    kept = [s for s in sentences if all(number in known for number in NUMBER.findall(s))]
    return " ".join(kept).strip()


def usable(answer: str, question: str, recalled: str | None = None) -> bool:
    """Not an apology or a greeting, not a bare «sí», not the question said back ("El maíz está
    medio amarillo y chiquito."), and not the recalled older message copied."""
    said = content_stems(answer)
    own = said - content_stems(question)
    echoed = len(own) <= ECHO_NEW_STEMS
    copied = bool(recalled) and len(own & content_stems(recalled)) > COPIED_SHARE * len(said)
    bare = len(answer.split()) <= BARE_WORDS and BARE_YES_OR_NO.match(fold(answer)) is not None
    return len(answer) >= 12 and not NOT_AN_ANSWER.search(fold(answer)) and not (echoed or copied or bare)  # folded


def from_passage(passage: dict) -> str:
    return f"Según mi guía ({passage['titulo']}): {passage['texto']}"


def honest_menu(menu: list[str]) -> str:
    options = "\n".join(f"• {item}" for item in menu)
    return f"Eso no lo sé responder bien todavía. Te puedo ayudar con:\n{options}" if menu else \
        "Eso no lo sé responder bien todavía."


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
