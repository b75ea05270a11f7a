"""The scripted conversations bench/conversation_latency.py plays: one runner and one producer,
each an onboarding (answers a user types) and the turns that follow, labelled with their kind.

Kinds: "fact" (the answer is a computed figure), "action" (something to record or confirm),
"classification" (an unclear message: which intent is it?), "open" (a free question for the model).

Onboarding answers are (hint, answer) pairs: the answer goes to the first question whose folded text
(lowercase, no accents) matches the hint, a regular expression; a question that matches no unused
hint gets the next unused answer in order. So the list keeps working if the onboarding asks fewer
questions or asks them in another order; edit it freely. The first entry opens the conversation.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Turn:
    text: str
    kind: str  # fact, action, classification, open
    quick: bool = False  # also played with --quick
    only_if_asked: bool = False  # sent only when the previous reply was a question (a confirmation)


@dataclass(frozen=True)
class Persona:
    name: str
    domain: str
    onboarding: list[tuple[str | None, str]]
    turns: list[Turn] = field(default_factory=list)

    def script(self, quick: bool) -> list[Turn]:
        return [turn for turn in self.turns if turn.quick or not quick]


KINDS = ("fact", "action", "classification", "open")

# BACKEND_PLUGINS=agro,running: "1" is agricultura, "2" running.
RUNNER = Persona(
    name="runner",
    domain="running",
    onboarding=[
        (None, "Hola"),
        (r"responde con el numero|en que te puedo ayudar", "2"),
        (r"como te llamas|tu nombre", "Lucía"),
        (r"cuantos anos|edad", "34"),
        (r"objetivo", "media maratón"),
        (r"cuando es tu carrera|fecha", "no"),
        (r"dias por semana|cuantos dias", "4"),
        (r"nivel", "intermedio"),
        (r"lesion|molestia", "ninguna"),
        (r"marca|tiempo reciente", "10K en 52:30"),
    ],
    turns=[
        Turn("a q ritmo hago el tempo", "fact", quick=True),
        Turn("que toca mañana", "fact"),
        Turn("hoy corri 8 km en 45 min", "action", quick=True),
        Turn("cuanto corri esta semana", "fact"),
        Turn("ayer no pude salir, el trabajo me mató", "classification"),
        Turn("en cuanto haria una media maraton", "fact"),
        Turn("cual es mi vdot", "fact"),
        Turn("me duele la rodilla", "action"),
        Turn("si", "action"),
        Turn("que como antes de una carrera larga", "open", quick=True),
        Turn("cada cuanto cambio las zapatillas", "open"),
    ],
)

PRODUCER = Persona(
    name="producer",
    domain="agro",
    onboarding=[
        (None, "Hola"),
        (r"responde con el numero|en que te puedo ayudar", "1"),
        (r"como te llamas|tu nombre", "Rosa"),
        (r"que cultivo|cultivo", "maíz"),
        (r"variedad", "no sé"),
        (r"cuando sembraste|siembra", "hace 2 meses"),
        (r"area|tamano|hectarea", "1 ha"),
        (r"donde esta|distrito|ubicacion", "Huaral"),  # Huaral: the loopback Open-Meteo has it recorded
        (r"suelo", "franco"),
        (r"como riegas|riego", "goteo 4 mm/h"),
        (r"de donde viene el agua|fuente", "canal"),
    ],
    turns=[
        Turn("cuando riego", "fact", quick=True),
        Turn("cuanta agua queda en el suelo", "fact"),
        Turn("en que etapa esta mi maiz", "fact"),
        Turn("ayer regue 2 horas", "action"),
        Turn("si", "action", only_if_asked=True),
        Turn("el maiz esta medio amarillo y chiquito", "classification", quick=True),
        Turn("como controlo el gusano cogollero", "fact"),
        Turn("como protejo mi chacra de la helada", "open", quick=True),
        Turn("que abono le echo al maiz", "open"),
    ],
)

PERSONAS = (RUNNER, PRODUCER)
