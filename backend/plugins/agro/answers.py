"""'¿Cuándo riego?' answered from the water balance when the model's reply does not carry the
computed date (or the model is down): the orchestrator then sends this sentence."""
from __future__ import annotations

import re

from backend.plugins.base import FactAnswer
from backend.spanish import decimal
from backend.text import fold

WHEN_TO_IRRIGATE = re.compile(r"\b(cuando riego|cuando debo regar|cuando tengo que regar|cuando hay que regar|"
                              r"cuando le toca (el )?riego|debo regar|tengo que regar|riego hoy|regar hoy|"
                              r"cuanta agua|cuantas horas)\b")


def answer_from_facts(message: str, facts: dict) -> FactAnswer | None:
    if not WHEN_TO_IRRIGATE.search(fold(message)):
        return None
    advised = [lote for lote in facts.get("lotes", []) if "lamina_mm" in lote or "proximo_riego" in lote]
    if not advised:
        return None
    sentences = [_sentence(lote) for lote in advised]
    return FactAnswer(" ".join(sentences), advised[0]["proximo_riego"])


def _sentence(lote: dict) -> str:
    what = f"tu {lote['cultivo']} ({lote['lote']})"
    if "lamina_mm" not in lote:
        return f"Para {what}: {lote['proximo_riego']}."
    hours = f", unas {decimal(lote['horas_de_riego'])} horas de riego" if "horas_de_riego" in lote else ""
    when = "hoy" if lote["proximo_riego"] == "hoy" else f"el {lote['proximo_riego']}"
    return f"Riega {what} {when}: {lote['lamina_mm']} mm{hours}."
