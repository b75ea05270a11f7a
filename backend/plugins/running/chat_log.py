"""Read a run out of a runner's WhatsApp message: "corrí 10 km en 55 min, me sentí cansado, me
duele la rodilla" -> 10 km, 3300 s, ánimo 2, aches ("rodilla",).

Only this reader decides that a run is logged (the model never proposes one): a distance or time
the runner never wrote is never stored. It is rules over accent-folded text, written for the Spanish runners actually type on phones: "10k",
"10,5 km", "5000 m", "55'", "1h05", "1:05:30", "ayer", "el martes".
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from backend.plugins.running.run_record import (FASTEST_PACE_S_PER_KM, FASTEST_SPRINT_PACE_S_PER_KM,
                                                SLOWEST_PACE_S_PER_KM, RunRecord)
from backend.text import fold  # "Corrí 10 KM" -> "corri 10 km"; ñ becomes n, which no rule minds

NOTES_LIMIT = 500
NUMBER = r"\d+(?:[.,]\d+)?"
WORD_END = r"(?![a-z])"

# Paces and clock times look like durations ("a 5:30 el km", "a las 7:00"); they are blanked first.
NOT_DURATIONS = [
    rf"\d{{1,2}}[:']\d{{2}}\"?\s*(?:min(?:utos)?)?\s*(?:/|por|el|cada)\s*(?:km|kilometro|k){WORD_END}",
    rf"{NUMBER}\s*min(?:utos)?\s*(?:/|por|el|cada)\s*(?:km|kilometro|k){WORD_END}",
    r"\b(?:ritmo|pace|promedio)\s*(?:medio\s*)?(?:de|a|:)?\s*\d{1,2}[:']\d{2}",
    r"\ba\s+\d{1,2}[:']\d{2}(?![\d:])",  # "10 km a 5:30": a pace, even without "/km"
    r"\ba\s+las?\s+\d{1,2}(?::\d{2})?",
    r"\d{1,2}:\d{2}\s*(?:am|pm|hs\b|de la (?:manana|tarde|noche))",
]

HOURS = re.compile(
    rf"(?<![\w.,])(?P<h>{NUMBER}|una|un)\s*(?:h|hs|hr|hrs|hora|horas){WORD_END}\.?"
    rf"(?:\s*(?:y\s*)?(?P<m>\d{{1,2}})(?!\d)\s*(?:m|min|mins|minutos?|')?{WORD_END}"
    r"(?!\s*(?:k\b|km|kil|met|mts|mill)))?"
    r"(?P<half>\s*y\s*media)?")
MINUTES = re.compile(
    rf"(?<![\d.,:])(?P<m>{NUMBER})\s*(?:min|mins|minutos?|'){WORD_END}"
    rf"(?:\s*(?:y\s*)?(?P<s>\d{{1,2}})\s*(?:s|seg|segs|segundos?|\"|''){WORD_END})?")
CLOCK_HMS = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?:[.,]\d+)?(?![\d:])")
CLOCK_2 = re.compile(r"(?<![\d:])(?P<a>\d{1,3}):(?P<b>\d{2})(?:[.,]\d+)?(?![\d:])"
                     rf"(?:\s*(?P<unit>h|hs|horas?|min|minutos?){WORD_END})?")
HALF_HOUR = re.compile(r"\bmedia hora\b")
HOUR_AND_HALF = re.compile(r"\b(?:una\s+)?hora y media\b")

KILOMETRES = re.compile(rf"(?<![\d.,])(?P<n>{NUMBER})\s*(?:km|kms|k|kilometros?){WORD_END}")
METRES = re.compile(rf"(?<![\d.,])(?P<n>\d{{1,3}}(?:\.\d{{3}})+|\d+)\s*(?:m|mts|metros?){WORD_END}")
MILES = re.compile(rf"(?<![\d.,])(?P<n>{NUMBER})\s*millas?{WORD_END}")
RACES = [  # only when a race was clearly run, not merely mentioned ("preparo la maratón")
    (re.compile(r"\b(?:corri|hice|termine|complete|acabe)\s+(?:la|el|una|un|mi)\s+(?:media|medio)\s+maraton\b"),
     21.0975),
    (re.compile(r"\b(?:corri|hice|termine|complete|acabe)\s+(?:la|el|una|un|mi)\s+maraton\b"), 42.195),
]

WEEKDAYS = ["lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"]
DAY_WORDS = [
    (re.compile(r"\b(?:hoy|esta (?:manana|tarde|noche))\b"), 0),
    (re.compile(r"\b(?:antes de ayer|anteayer|antier)\b"), 2),
    (re.compile(r"\b(?:ayer|anoche)\b"), 1),
]
WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b")

# Mood 1 muy mal .. 5 excelente. Longer phrases win over the words inside them ("muy bien", "no
# me sentí bien"); among what is left the lowest mood counts: a coach should rather hear of fatigue.
MOODS = [
    (1, r"muy mal|fatal|horrible|pesim[oa]|terrible|destrozad[oa]s?|reventad[oa]s?|agotad[oa]s?|"
        r"exhaust[oa]s?|muert[oa]s?|hech[oa] polvo"),
    (2, r"mal|cansad[oa]s?|pesad[oa]s?|sin energia|floj[oa]|no muy bien|no tan bien|"
        r"no (?:me )?(?:senti|siento|estuve|estoy|fue|me fue)? ?bien"),
    (3, r"normal|regular|mas o menos|ni bien ni mal"),
    (4, r"bien|content[oa]|fresc[oa]|con energia|a gusto"),
    (5, r"excelente|genial|increible|muy bien|super bien|buenisim[oa]|perfect[oa]|de maravilla|"
        r"espectacular|fenomenal|de lujo"),
]
# Effort words; the hardest one counts (an easy warm-up does not make hard intervals easy).
EFFORTS = [
    (3, r"suaves?|facil(?:es)?|tranquil[oa]s?|regenerativ[oa]s?|recuperacion|trote|lent[oa]s?|liger[oa]s?|"
        r"con calma"),
    (5, r"moderad[oa]s?|controlad[oa]s?|ritmo medio"),
    (8, r"dur[oa]s?|fuertes?|intens[oa]s?|exigentes?|me costo"),
    (9, r"muy dur[oa]s?|durisim[oa]s?|a tope|al maximo|maximo esfuerzo|a muerte"),
]
EXPLICIT_RPE = re.compile(
    r"\b(?:rpe|esfuerzo|intensidad)(?:\s+percibid[oa])?\s*(?:de|:|=|fue de|fue|en|un)?\s*"
    r"(?P<n>\d{1,2})(?!\s*(?:[.,]\d|km|k\b|min|m\b|metros|h\b|hora|'|:))")

PAIN = re.compile(r"\b(?:duel[ea]n?|dol(?:ia|ian|io|ieron)|dolor(?:es|id[oa]s?)?|adolorid[oa]s?|molesti(?:a|as|o)|molest[ao]n?|"
                  r"lesion(?:es|ad[oa]|e)?|torci|torcid[oa]|lastim\w*|punzada|tiron|sobrecarga(?:d[oa])?|contractura|"
                  r"me tiran?|hinchad[oa]s?|inflamad[oa]s?|torcedura|esguince)\b")
NO_PAIN = re.compile(r"\b(?:sin|ningun|ninguna|nada de|no me|no tengo|ya no|cero)\s+(?:\w+\s+)?$")
CLAUSE_END = re.compile(r"[.;!?\n]|\b(?:pero|aunque|sin embargo)\b")
BODY_PARTS = [  # folded pattern -> the area as stored, most specific first
    (r"planta del pie|fascia(?: plantar)?|fascitis(?: plantar)?", "pie"),
    (r"(?:tendon de )?aquiles", "aquiles"),
    (r"cintilla(?: iliotibial)?|banda iliotibial", "cintilla iliotibial"),
    (r"rodillas?", "rodilla"),
    (r"tobillos?", "tobillo"),
    (r"gemelos?", "gemelo"),
    (r"pantorrillas?", "pantorrilla"),
    (r"soleos?", "sóleo"),
    (r"caderas?", "cadera"),
    (r"espalda(?: baja)?|lumbar(?:es)?|zona lumbar", "espalda"),
    (r"talon(?:es)?", "talón"),
    (r"isquios?|isquiotibial(?:es)?", "isquios"),
    (r"cuadriceps|cuadricep", "cuádriceps"),
    (r"tibias?|periostitis|canillas?", "tibia"),
    (r"gluteos?", "glúteo"),
    (r"ingles?", "ingle"),
    (r"aductor(?:es)?", "aductor"),
    (r"abductor(?:es)?", "abductor"),
    (r"psoas", "psoas"),
    (r"muslos?", "muslo"),
    (r"empeines?|pies?", "pie"),
    (r"piernas?", "pierna"),
    (r"hombros?", "hombro"),
    (r"cuello", "cuello"),
    (r"costado|flato", "costado"),
]
BODY = re.compile(r"\b(" + "|".join(f"(?:{pattern})" for pattern, _ in BODY_PARTS) + r")\b")

RUN_WORDS = re.compile(r"\b(?:corri|corrimos|correr|corriendo|corro|trote|trotar|trotando|trotamos|"
                       r"rodaje|tirada larga|fartlek|series de|maraton|sali a correr)\b")


def mentions_run(text: str) -> bool:
    """Whether the message talks about a run: a running verb, or a distance with a duration.
    A distance alone is not enough: farmers say "el mercado está a 10 km" too."""
    return bool(RUN_WORDS.search(fold(text))) or parse_run_message(text, date.today()) is not None


def parse_run_message(text: str, today: date) -> RunRecord | None:
    """The run the message reports, or None without both a distance and a duration.

    Not validated: the caller runs validate_run, so an impossible run gets its Spanish reason."""
    folded = _blank(fold(text), NOT_DURATIONS)
    first_guess = find_distance(folded)
    if first_guess is None:
        return None
    found = find_duration(folded, first_guess[0])
    if found is None:
        return None
    duration_s, span = found
    # Re-read the distance with the duration blanked, so "1 h 5 m" can never count as 5 metres.
    distance = find_distance(folded[:span[0]] + " " * (span[1] - span[0]) + folded[span[1]:])
    if distance is None:
        return None
    distance_km, position = distance
    return RunRecord(day=find_day(folded, today, position), distance_km=distance_km, duration_s=duration_s,
                     rpe=find_rpe(folded), mood=find_mood(folded), aches=find_aches(folded),
                     notes=text.strip()[:NOTES_LIMIT], source="chat")


def _blank(text: str, patterns: list[str]) -> str:
    # Same length, so positions found later still point into the message.
    for pattern in patterns:
        text = re.sub(pattern, lambda match: " " * len(match.group()), text)
    return text


def _number(text: str) -> float:
    return float(text.replace(",", "."))


# --- distance ------------------------------------------------------------------------------------

def find_distance(folded: str) -> tuple[float, int] | None:
    """(km, position) of the first distance written: km, metres or miles, else a race clearly run."""
    found = []
    for pattern, to_km in ((KILOMETRES, _number), (METRES, _metres_to_km),
                           (MILES, lambda n: _number(n) * 1.609344)):
        match = pattern.search(folded)
        if match:
            found.append((match.start(), to_km(match.group("n"))))
    if found:
        position, km = min(found)
        return km, position
    for pattern, km in RACES:
        match = pattern.search(folded)
        if match:
            return km, match.start()
    return None


def _metres_to_km(text: str) -> float:
    # "5.000 m" is five thousand metres in Spanish, never five metres.
    return float(text.replace(".", "")) / 1000


# --- duration ------------------------------------------------------------------------------------

def find_duration(folded: str, distance_km: float | None = None) -> tuple[float, tuple[int, int]] | None:
    """(seconds, span) of the first duration written. "55:20" is minutes and seconds unless only
    hours and minutes give a runnable pace for `distance_km` ("10 km en 1:05")."""
    candidates = []
    for priority, (pattern, read) in enumerate([
            (CLOCK_HMS, _read_hms), (HOUR_AND_HALF, lambda m: 5400.0), (HALF_HOUR, lambda m: 1800.0),
            (HOURS, _read_hours), (MINUTES, _read_minutes),
            (CLOCK_2, lambda m: _read_clock(m, distance_km))]):
        for match in pattern.finditer(folded):
            seconds = read(match)
            if seconds:
                candidates.append((match.start(), priority, seconds, match.span()))
                break
    if not candidates:
        return None
    _, _, seconds, span = min(candidates)
    return seconds, span


def _read_hms(match: re.Match) -> float | None:
    hours, minutes, seconds = (int(match.group(name)) for name in "hms")
    if minutes >= 60 or seconds >= 60:
        return None
    return float(hours * 3600 + minutes * 60 + seconds)


def _read_hours(match: re.Match) -> float:
    hours = 1.0 if match.group("h") in ("un", "una") else _number(match.group("h"))
    seconds = hours * 3600
    if match.group("m"):
        seconds += int(match.group("m")) * 60
    if match.group("half"):
        seconds += 1800
    return seconds


def _read_minutes(match: re.Match) -> float:
    seconds = _number(match.group("m")) * 60
    if match.group("s"):
        seconds += int(match.group("s"))
    return seconds


def _read_clock(match: re.Match, distance_km: float | None) -> float | None:
    first, second = int(match.group("a")), int(match.group("b"))
    if second >= 60:
        return None
    as_minutes = float(first * 60 + second)
    as_hours = float(first * 3600 + second * 60)
    unit = match.group("unit") or ""
    if unit.startswith("h"):
        return as_hours
    if unit.startswith("m") or not distance_km:
        return as_minutes
    if not _runnable(as_minutes, distance_km) and _runnable(as_hours, distance_km):
        return as_hours
    return as_minutes


def _runnable(seconds: float, distance_km: float) -> bool:
    fastest = FASTEST_PACE_S_PER_KM if distance_km >= 1 else FASTEST_SPRINT_PACE_S_PER_KM
    return fastest <= seconds / distance_km <= SLOWEST_PACE_S_PER_KM


# --- day, effort, mood, aches --------------------------------------------------------------------

def find_day(folded: str, today: date, anchor: int = 0) -> date:
    """Today unless the message says "ayer", "anteayer" or a weekday (its latest past occurrence;
    today's own weekday means a week ago, since today's run would be "hoy"). With several day
    words the one nearest the distance (`anchor`) counts: "ayer me dolía, hoy corrí 10 km" is today."""
    found = []
    for pattern, days_back in DAY_WORDS:
        for match in pattern.finditer(folded):
            found.append((abs(match.start() - anchor), days_back))
        # "antes de ayer" must not also count as "ayer".
        folded = pattern.sub(lambda match: " " * len(match.group()), folded)
    for match in WEEKDAY.finditer(folded):
        days_back = (today.weekday() - WEEKDAYS.index(match.group(1))) % 7 or 7
        found.append((abs(match.start() - anchor), days_back))
    if not found:
        return today
    return today - timedelta(days=min(found)[1])


def find_rpe(folded: str) -> int | None:
    """The effort the runner states ("esfuerzo 7", "RPE 8"), else one guessed from words."""
    match = EXPLICIT_RPE.search(folded)
    if match:
        return int(match.group("n"))
    levels = _levels_said(folded, EFFORTS)
    return max(levels) if levels else None


def find_mood(folded: str) -> int | None:
    levels = _levels_said(folded, MOODS)
    return min(levels) if levels else None


def _levels_said(folded: str, table: list[tuple[int, str]]) -> list[int]:
    """The levels whose phrases occur, a phrase inside a longer matched phrase not counting."""
    matches = []
    for level, pattern in table:
        for match in re.finditer(rf"\b(?:{pattern})\b", folded):
            matches.append((match.start(), match.end(), level))
    kept = [(start, end, level) for start, end, level in matches
            if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in matches)]
    return [level for _, _, level in kept]


def find_aches(folded: str) -> tuple[str, ...]:
    """Body areas named next to a pain word in the same clause ("me duele la rodilla", "molestias
    en el gemelo", "la rodilla me duele"), not when the pain is denied ("sin dolor")."""
    aches: list[str] = []
    for pain in PAIN.finditer(folded):
        if NO_PAIN.search(folded[max(0, pain.start() - 20):pain.start()]):
            continue
        for area in _areas_near(folded, pain.start(), pain.end()):
            if area not in aches:
                aches.append(area)
    return tuple(aches)


def _areas_near(folded: str, start: int, end: int) -> list[str]:
    after = folded[end:end + 60]
    boundary = CLAUSE_END.search(after)
    after = after[:boundary.start()] if boundary else after
    before = folded[max(0, start - 25):start]
    boundaries = list(CLAUSE_END.finditer(before))
    before = before[boundaries[-1].end():] if boundaries else before
    return [_canonical_area(match.group(1)) for match in BODY.finditer(before + " " + after)]


def _canonical_area(word: str) -> str:
    for pattern, area in BODY_PARTS:
        if re.fullmatch(pattern, word):
            return area
    return word
