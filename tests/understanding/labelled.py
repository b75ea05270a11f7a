"""The labelled set (data/labelled.jsonl) and how it is scored: intent accuracy (is the reading's
intent the labelled one) and slot accuracy (of the slots the label names, how many the plug-in's
slot reader returns with the same value, read for the labelled intent). Core utterances are scored
in every domain, since every domain must understand them."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from backend.contacts import Contact

LABELLED = Path(__file__).parent / "data" / "labelled.jsonl"
DOMAINS = ("running", "agro")


def load(split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if split is None or row["split"] == split]


def cases(rows: list[dict]):
    """(domain to understand it in, row): core rows once per domain."""
    for row in rows:
        for domain in (DOMAINS if row["domain"] == "core" else (row["domain"],)):
            yield domain, row


@dataclass
class Score:
    intents: int = 0
    intents_right: int = 0
    slots: int = 0
    slots_right: int = 0
    confusions: Counter = field(default_factory=Counter)
    slot_misses: list = field(default_factory=list)

    def add(self, row: dict, intent: str, slots: dict) -> None:
        self.intents += 1
        if intent == row["intent"]:
            self.intents_right += 1
        else:
            self.confusions[(row["intent"], intent, row["text"])] += 1
        for name, value in row["slots"].items():
            self.slots += 1
            got = slots.get(name)
            right = got == value or (isinstance(value, float | int) and isinstance(got, float | int)
                                     and abs(got - value) < 0.01)
            self.slots_right += right
            if not right:
                self.slot_misses.append((name, value, got, row["text"]))

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.intents if self.intents else 0.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.slots if self.slots else 0.0


ANYONE = Contact(id=0, phone="", name=None, domain=None, language="es", timezone="America/Lima",
                 opted_out=False, onboarding_step=None)


def score_matcher(understanding, plugins, rows: list[dict]) -> tuple[Score, Score]:
    """Code alone (the plug-ins' detectors and the matcher, no model): every placement, and the
    confident ones only (what is decided without a classification call)."""
    everything, confident = Score(), Score()
    for domain, row in cases(rows):
        plugin = plugins[domain]
        reading = understanding.read(row["text"], domain)
        understanding.place(reading, plugin, None, None, plugin.detect(reading, ANYONE))
        slots = plugin.read_slots(reading, row["intent"])
        everything.add(row, reading.intent, slots)
        if reading.via in ("matcher", "detector"):
            confident.add(row, reading.intent, slots)
    return everything, confident
