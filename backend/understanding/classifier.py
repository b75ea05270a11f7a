"""The classification call, for what the matcher cannot place even as a guess: the small model
picks one intent among the matcher's few best candidates (a grammar enum, so it cannot answer
anything else), reading only the message, the last reply and each candidate's description.

Measured on the development part of the labelled set (bench/understanding.py): with
every intent listed once in the system prompt and only names as options, the 0.5B model picked
right 42 % of the time among 5 candidates; with the 3 candidates described next to the message,
48 %. Fewer, described options help it; it still loses to the matcher's own guess wherever the
matcher has one, which is why only the messages the matcher scores lowest come here.
The system prompt is short and never changes (it stays cached); the user part is ~60-90 tokens
and the answer ~8 ({"intencion": "ritmo_umbral"})."""
from __future__ import annotations

from backend.understanding.intents import Intent

MAX_TOKENS = 16
CANDIDATES = 3
LAST_REPLY_CHARS = 120


def system_prompt(domain_label: str) -> str:
    return (f"Clasificas mensajes de WhatsApp de usuarios de Chasqui ({domain_label}). Lee el mensaje y elige la "
            'intención que mejor lo describe entre las posibles. Responde solo con JSON: {"intencion": "..."}.')


def user_part(message: str, last_reply: str | None, options: list[Intent]) -> str:
    before = f"Chasqui dijo antes: «{last_reply[:LAST_REPLY_CHARS]}»\n" if last_reply else ""
    lines = "\n".join(f"- {intent.name}: {intent.description} (ej.: «{intent.examples[0]}»)" for intent in options)
    return f"{before}Intenciones posibles:\n{lines}\nMensaje: «{message[:300]}»"


def schema(options: list[str]) -> dict:
    return {"type": "object", "properties": {"intencion": {"type": "string", "enum": options}},
            "required": ["intencion"], "additionalProperties": False}
