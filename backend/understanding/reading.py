"""A message read once: every later step (the matcher, the plug-ins' slot readers, the action
detectors, the cache key, recall) gets this object instead of folding the raw text its own way.

`normalized` is what the plug-ins' parsers read: folded (lowercase, no accents), WhatsApp
abbreviations spelled out ("q" -> "que", "xq" -> "porque", "kms" -> "km") and number words
written as digits ("diez kilometros en cincuenta minutos" -> "10 kilometros en 50 minutos"),
punctuation kept. `stems` is what the matcher compares: the words after typo correction against
the known vocabulary (RapidFuzz) and Snowball's Spanish stemmer, numbers as "#"."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process

from backend.text import fold

# Written on phones, read as the full word (folded).
ABBREVIATIONS = {
    "q": "que", "k": "que", "ke": "que", "xq": "porque", "pq": "porque", "porq": "porque", "xk": "porque",
    "x": "por", "d": "de", "tb": "tambien", "tmb": "tambien", "tbn": "tambien", "pa": "para", "pal": "para el",
    "kms": "km", "kilometros": "km", "kilometro": "km", "klm": "km", "kilomtros": "km", "mins": "min",
    "minutos": "min", "minuto": "min", "hrs": "horas", "hr": "hora", "hs": "horas", "mñn": "manana",
    "mnn": "manana", "mñna": "manana", "sem": "semana", "xfa": "porfavor", "porfa": "porfavor",
    "plis": "porfavor", "pls": "porfavor", "bn": "bien", "tmr": "manana", "dnd": "donde", "cdo": "cuando",
    "cnd": "cuando", "cuanod": "cuando", "kdo": "cuando", "kndo": "cuando", "cuado": "cuando",
    "cnto": "cuanto", "knto": "cuanto", "kuanto": "cuanto", "kuando": "cuando", "msj": "mensaje", "ntp": "no te preocupes", "ps": "pues", "pe": "pues",
}
UNITS = {"cero": 0, "uno": 1, "un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
         "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
         "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
         "veintiun": 21, "veintiuno": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24,
         "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29}
TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
        "noventa": 90, "cien": 100, "ciento": 100}
# "un"/"una" are numbers only before a unit ("una hora", "un km"), not in "un 10K" or "una pregunta".
UNIT_WORDS = r"(?:horas?|km|k|min|metros?|mm|milimetros?|dias?|semanas?|meses|mes|vez|veces|hectareas?|ha)\b"
QUESTION_WORDS = ("que", "cuando", "cuanto", "cuanta", "cuantos", "cuantas", "como", "cual", "cuales", "donde",
                  "quien", "por que", "porque", "a que", "a cuanto", "en que", "en cuanto", "debo", "toca", "puedo",
                  "hay que", "sera", "dime", "dame",
                  # asking for advice without «¿?»: «es normal que me duelan las piernas»
                  "es normal", "es bueno", "es malo", "es mejor", "es recomendable", "es necesario", "sirve",
                  "sirven", "conviene", "vale la pena", "se puede")
STOPWORDS = frozenset("de la el los las un una unos unas y o a al del en mi mis tu tus su sus lo le les se "
                      "es con pues ya nomas porfavor oye este esta eso esto me te nos por para".split())
COMMON_WORDS = STOPWORDS | frozenset(w for phrase in QUESTION_WORDS for w in phrase.split()) | frozenset(
    "cuando donde quien porque tambien pero sino entonces ahora hoy ayer manana siempre nunca".split())
GREETINGS = re.compile(r"^\s*(?:(?:hola|holi|ola|buenas|buenos|buen|dias|tardes|noches|que tal|saludos|hey|"
                       r"chasqui|amigo|amiga|don|dona|senor|senora|ing|inge)\b[\s,.!¡]*)+")

# A Snowball stemmer keeps its word in its own state: shared by Flask's threads it returns wrong
# stems and raises IndexError (seen by the crash suite), so each thread has its own.
_stemmers = threading.local()


def _stemmer():
    if not hasattr(_stemmers, "spanish"):
        _stemmers.spanish = snowballstemmer.stemmer("spanish")
    return _stemmers.spanish


@dataclass
class Reading:
    text: str  # as written, stripped
    normalized: str  # folded, abbreviations and number words resolved, punctuation kept
    words: tuple[str, ...]  # the words of `normalized` (greeting off), each corrected when it is a typo
    stems: tuple[str, ...]  # what the matcher compares (stopwords dropped, numbers as "#")
    is_question: bool
    greeted: bool  # opened with "hola", "buenas tardes"…: the reply may greet back
    # "corrí 10 km en 55 min, ¿qué toca mañana?": a statement, then this question (as written)
    trailing_question: str | None = None
    intent: str | None = None
    via: str = ""  # who placed the intent: matcher, model, fallback
    slots: dict = field(default_factory=dict)
    turn: int = 0  # the inbound message's id: varies the wording of answers from code

    @property
    def corrected(self) -> str:
        return " ".join(self.words)


class Lexicon:
    """The words the intents' examples use, and Spanish's common short words: a message word
    that is none of them but close to one starting with the same letter (edit similarity ≥ 80 %,
    words of 5+ letters: "rodia" -> "rodilla", "rieggo" -> "riego") is read as that word. People
    seldom mistype a word's first letter, and without that rule "cuando" read as "undo"."""

    CUTOFF = 80

    def __init__(self, words: set[str]):
        self.words = frozenset(words) | COMMON_WORDS
        self._by_initial: dict[str, list[str]] = {}
        for word in sorted(self.words):
            if len(word) >= 4:
                self._by_initial.setdefault(word[0], []).append(word)

    @lru_cache(maxsize=4096)
    def correct(self, word: str) -> str:
        if word in self.words or len(word) < 5 or word.isdigit():
            return word
        found = process.extractOne(word, self._by_initial.get(word[0], ()), scorer=fuzz.ratio,
                                   score_cutoff=self.CUTOFF)
        return found[0] if found else word


def normalize(text: str) -> str:
    folded = fold(text)
    folded = re.sub(r"(\d)([a-z])", r"\1 \2", folded)  # "10km" -> "10 km", "2h" -> "2 h"
    folded = re.sub(r"\b(\d+)\s*k\b", r"\1k", folded)  # but "10 k" is a race: "10k"
    words = re.split(r"(\W+)", folded)
    words = [ABBREVIATIONS.get(w, w) for w in words]
    return _number_words("".join(words))


def _number_words(text: str) -> str:
    def tens(match: re.Match) -> str:
        value = TENS[match[1]] + (UNITS.get(match[2], 0) if match[2] else 0)
        return str(value)
    text = re.sub(r"\b(" + "|".join(TENS) + r")(?:\s+y\s+(" + "|".join(UNITS) + r"))?\b", tens, text)
    # Speech-to-text writes «cincuenta y cinco» as «50 y 5»: the same 55.
    text = re.sub(r"\b([2-9]0) y ([1-9])\b", lambda m: str(int(m[1]) + int(m[2])), text)
    text = re.sub(r"\b(?:una\s+)?hora y media\b", "1.5 horas", text)
    text = re.sub(r"\b(\d+) horas? y media\b", lambda m: f"{m[1]}.5 horas", text)
    text = re.sub(r"\b(?:una|1) hora y cuarto\b", "75 min", text)
    text = re.sub(r"\b(\d+) horas? y cuarto\b", lambda m: f"{int(m[1]) * 60 + 15} min", text)
    text = re.sub(r"\bmedia hora\b", "30 min", text)
    text = re.sub(r"\b(?:un|una)\s+(?=" + UNIT_WORDS + ")", "1 ", text)
    numbers = [w for w in UNITS if w not in ("un", "una")]
    return re.sub(r"\b(" + "|".join(numbers) + r")\b", lambda m: str(UNITS[m[1]]), text)


def stem(word: str) -> str:
    return "#" if word[:1].isdigit() else _stemmer().stemWord(word)


def read(text: str, lexicon: Lexicon | None = None, mark=None) -> Reading:
    """`mark` turns a domain's entity names into placeholders, for the stems only (the slot
    readers need the names: they read `normalized`, or `corrected` for typos)."""
    text = text.strip()
    normalized = normalize(text)
    greeting = GREETINGS.match(normalized)
    rest = normalized[greeting.end():] if greeting else normalized
    greeted = bool(greeting) and bool(re.search(r"\w", rest))
    body = rest if greeted else normalized
    raw_words = re.findall(r"[a-z]+|\d+(?:[.,]\d+)?", body)
    words = tuple(lexicon.correct(w) if lexicon else w for w in raw_words)
    corrected = " ".join(words)
    marked = _morning(mark(corrected) if mark else corrected)
    stems = tuple(stem(w) for w in re.findall(r"[a-z]+|\d+(?:[.,]\d+)?", marked) if w not in STOPWORDS)
    is_question = "?" in text or "¿" in text or body.lstrip().startswith(QUESTION_WORDS)
    return Reading(text=text, normalized=normalized, words=words, stems=stems, is_question=is_question,
                   greeted=greeted, trailing_question=trailing_question(text))


def _morning(text: str) -> str:
    """«en la mañana», «por las mañanas», «esta mañana», «cada mañana» speak of the morning, not of
    tomorrow («mañana», «mañana en la mañana»): the matcher reads them as their own word. For the
    stems only: the slot readers keep «esta mañana» (today) and «de la mañana» (a time of day)."""
    return re.sub(r"\b(la|las|esta|cada|una|toda|todas|buena|buenas)\s+mananas?\b", r"\1 matinal", text)


# Where a second question starts in one message: «¿cuándo riego? ¿y cuánta agua queda?»,
# «a qué ritmo hago el tempo y qué toca mañana», «cuánto corrí esta semana, y cuál es mi vdot».
_ASKING = r"(?:que|cual|cuales|cuando|cuanto|cuanta|cuantos|cuantas|como|donde|a que|en que|hasta cuando)\b"
_CLAUSE_BREAK = re.compile(r"[?¿!]+|[,;.]\s*(?=(?:y\s+)?" + _ASKING + r")|\s+y\s+(?=" + _ASKING + r")")


def question_clauses(text: str) -> list[str]:
    """The message cut where another question starts (folded; a leading «y» dropped; a part that
    ended in «?» keeps it, so it still reads as a question), or the whole message as its one clause."""
    folded, parts, start = fold(text), [], 0
    for cut in _CLAUSE_BREAK.finditer(folded):
        parts.append(folded[start:cut.start()] + ("?" if "?" in cut.group() else ""))
        start = cut.end()
    parts.append(folded[start:])
    clauses = [re.sub(r"^(?:y|e)\s+", "", part.strip(" ,;.¿¡!")) for part in parts]
    return [clause for clause in clauses if re.search(r"[a-z]", clause)] or [text]


def trailing_question(text: str) -> str | None:
    """The question that follows a statement in one message, or None: "regué 2 horas. ¿cuándo
    riego otra vez?" -> "¿cuándo riego otra vez?". The statement must have words of its own and no
    question mark."""
    if "¿" in text:
        start = text.index("¿")
    elif text.rstrip().endswith("?") and (cut := max(text.rfind(","), text.rfind("."), text.rfind(";"))) > 0:
        start = cut + 1
    else:
        return None
    statement, question = text[:start].strip(" ,.;:"), text[start:].strip()
    if "?" in statement or len(re.findall(r"\w+", statement)) < 2 or len(re.findall(r"\w+", question)) < 2:
        return None
    return question
