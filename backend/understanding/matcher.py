"""The fast matcher: a message is compared with every intent's examples as sets of Spanish stems,
each stem weighted by how few intents use it (so "tempo" decides and "ritmo" barely counts), and
the best example's cosine is that intent's score. A message word no example knows counts against
every intent (an open question about shoes shares little with "¿a qué ritmo hago el tempo?").

It places a message with confidence when the best score is high and clearly above the best other
intent's; the rest goes to the classification call. Thresholds were set on the development part
of tests/understanding/data/labelled.jsonl (bench/understanding.py prints both parts)."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from backend.understanding.intents import Intent
from backend.understanding.reading import Lexicon, Reading, read

CONFIDENT_SCORE = 0.5
CONFIDENT_MARGIN = 0.1
BIGRAM_WEIGHT = 0.5  # "mañana toca" and "toca mañana" share their stems; the order adds a little


@dataclass(frozen=True)
class Match:
    intent: str
    score: float
    runner_up: str | None
    runner_up_score: float

    @property
    def confident(self) -> bool:
        return self.score >= CONFIDENT_SCORE and self.score - self.runner_up_score >= CONFIDENT_MARGIN


def features(reading: Reading) -> set[str]:
    stems = reading.stems
    return set(stems) | {f"{a}_{b}" for a, b in zip(stems, stems[1:])}


class IntentMatcher:
    def __init__(self, intents: list[Intent] | tuple[Intent, ...], lexicon: Lexicon, mark=None):
        self.intents = {intent.name: intent for intent in intents}
        self.lexicon = lexicon
        examples = [(intent.name, features(read(text, lexicon, mark))) for intent in intents
                    for text in intent.examples]
        used_by = defaultdict(set)
        for name, feats in examples:
            for feat in feats:
                used_by[feat].add(name)
        count = len(self.intents)
        self.idf = {feat: math.log((1 + count) / (1 + len(names))) + 1 for feat, names in used_by.items()}
        self.unknown_weight = math.log(1 + count) + 1
        self.examples = [(name, feats, self._norm(feats)) for name, feats in examples]
        self.vocabulary: dict[str, set[str]] = defaultdict(set)  # intent -> the stems of its examples
        for name, feats in examples:
            self.vocabulary[name] |= {feat for feat in feats if "_" not in feat}
        self.index: dict[str, list[int]] = defaultdict(list)
        for position, (_, feats, _) in enumerate(self.examples):
            for feat in feats:
                self.index[feat].append(position)

    def _weight(self, feat: str) -> float:
        weight = self.idf.get(feat, self.unknown_weight)
        return weight * BIGRAM_WEIGHT if "_" in feat else weight

    def _norm(self, feats: set[str]) -> float:
        return math.sqrt(sum(self._weight(f) ** 2 for f in feats)) or 1.0

    def scores(self, reading: Reading) -> Counter:
        feats = features(reading)
        norm = self._norm(feats)
        shared: Counter = Counter()
        for feat in feats:
            for position in self.index.get(feat, ()):
                shared[position] += self._weight(feat) ** 2
        best: Counter = Counter()
        for position, overlap in shared.items():
            name, _, example_norm = self.examples[position]
            best[name] = max(best[name], overlap / (norm * example_norm))
        return best

    def match(self, reading: Reading) -> Match | None:
        return best_of(self.scores(reading).most_common())


def best_of(ranked: list[tuple[str, float]]) -> Match | None:
    """The best intent of a ranking (intent, score), best first, with its runner-up."""
    if not ranked:
        return None
    (intent, score), runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else (None, 0.0))
    return Match(intent, score, runner_up[0], runner_up[1])
