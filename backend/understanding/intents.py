"""What a message can mean. Each domain plug-in declares its intents (questions answered from its
computed facts, actions on the user's data, open questions); the core adds the ones every domain
shares (greeting, thanks, undo, yes/no, talk to a person, my data, help)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from backend.understanding.core_examples import EXAMPLES as CORE_EXAMPLES

FACT, ACTION, CORE, OPEN = "fact", "action", "core", "open"
OPEN_QUESTION = "pregunta_abierta"


@dataclass(frozen=True)
class Intent:
    name: str
    kind: str  # FACT, ACTION, CORE or OPEN
    description: str  # a few words, for the classification call
    examples: tuple[str, ...]
    # FACT: the reply from the plug-in's computed facts and the reading (slots), or None when the
    # facts do not hold the answer yet (then the reply says what is missing: `missing`).
    answer: Callable[[dict, object], str | None] | None = None
    # ACTION: what to ask when the message names the action but not its figures.
    missing: str | None = None


CORE_DESCRIPTIONS = {
    "saludo": "solo saluda",
    "gracias": "agradece o dice ok",
    "deshacer": "quiere deshacer el último cambio",
    "hablar_persona": "quiere hablar con una persona",
    "mis_datos": "pregunta qué datos suyos se guardan",
    "borrar_datos": "pide borrar sus datos",
    "no_sirvio": "dice que la respuesta no le sirvió",
    "ayuda": "pregunta qué puede hacer Chasqui",
    "confirmar": "responde que sí",
    "negar": "responde que no",
}
CORE_INTENTS = tuple(Intent(name, CORE, description, CORE_EXAMPLES[name])
                     for name, description in CORE_DESCRIPTIONS.items())
