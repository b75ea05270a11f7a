"""The runner's profile: the onboarding questions and how each answer is read. Every parser
raises ValueError with a Spanish sentence the user sees, followed by the question again."""
from __future__ import annotations

import re
from datetime import date, timedelta

from backend.spanish import MONTH_NUMBERS, MONTH_WORDS, find_calendar_date, nearest
from backend.text import fold

GOALS = {  # what people write -> the plan generator's goal names
    "5k": "5K", "5 k": "5K", "5 km": "5K", "cinco": "5K",
    "10k": "10K", "10 k": "10K", "10 km": "10K", "diez": "10K",
    "media": "half", "media maraton": "half", "medio maraton": "half", "21k": "half", "21 k": "half",
    "21 km": "half", "maraton": "marathon", "42k": "marathon", "42 k": "marathon", "42 km": "marathon",
    "ultra": "ultra", "trail": "ultra",
    "salud": "fitness", "general": "fitness", "forma": "fitness", "bajar de peso": "fitness", "fitness": "fitness",
    "velocidad": "sprint", "sprint": "sprint", "100 m": "sprint", "200 m": "sprint", "400 m": "sprint",
}
GOAL_NAMES_ES = {"5K": "5K", "10K": "10K", "half": "media maratón", "marathon": "maratón", "ultra": "ultra",
                 "fitness": "salud y forma física", "sprint": "velocidad"}
RACE_DISTANCES_M = {"5K": 5000, "10K": 10000, "half": 21097.5, "marathon": 42195}
LEVELS = {"principiante": "beginner", "basico": "beginner", "1": "beginner", "intermedio": "intermediate",
          "2": "intermediate", "avanzado": "advanced", "experto": "advanced", "3": "advanced"}
NUMBER_WORDS = {"dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "una": 1, "uno": 1}
NONE_WORDS = ("no", "ninguna", "ninguno", "nada", "sin fecha", "todavia no", "aun no", "no tengo")
LONGEST_PLAN_AHEAD_DAYS = 2 * 365
SLOWEST_RATED_PACE_S = 8 * 60 + 30  # per km; VDOT tables start at 30 (a 30:40 5K) and the equations near 20


def parse_age(answer: str) -> int:
    match = re.search(r"\d{1,3}", answer)
    if not match or not 10 <= int(match.group()) <= 99:
        raise ValueError("Escribe tu edad en años, por ejemplo 34.")
    return int(match.group())


def parse_goal(answer: str) -> str:
    goal = find_goal(answer)
    if goal is None:
        raise ValueError("No entendí tu objetivo.")
    return goal


def find_goal(text: str) -> str | None:
    """The goal named in free text ('quiero correr un maratón'), or None. Longest names first, so
    'medio maratón' is a half and not a marathon."""
    folded = fold(text)
    for words in sorted(GOALS, key=len, reverse=True):
        if re.search(rf"(?<![\w]){re.escape(words)}(?![\w])", folded):
            return GOALS[words]
    return None


def parse_race_date(answer: str, today: date | None = None) -> str | None:
    """An ISO date in the future, or None when there is no race date ("no")."""
    today = today or date.today()
    folded = fold(answer).strip(" .!")
    if folded in NONE_WORDS or folded.startswith(("no ", "sin ")):
        return None
    day = find_date(folded, today)
    if day is None:
        raise ValueError("Escribe la fecha de tu carrera, por ejemplo 15/03/2027 o «15 de marzo», o «no».")
    if not today < day <= today + timedelta(days=LONGEST_PLAN_AHEAD_DAYS):
        raise ValueError("La fecha de la carrera debe estar en los próximos dos años.")
    return day.isoformat()


def find_date(text: str, today: date) -> date | None:
    """A race date ('15/03/2027', '15 de marzo') or a month alone ('en abril': the first Sunday
    from the 15th, since races are mostly on Sundays), the next one after today."""
    folded = fold(text)
    day = find_calendar_date(folded, today, ahead=True)
    if day is None and (match := re.search(rf"\b({MONTH_WORDS})\b(?:\s+(?:de\s+|del\s+)?(\d{{4}}))?", folded)):
        mid = nearest(today, MONTH_NUMBERS[match[1]], 15, int(match[2]) if match[2] else None, ahead=True)
        day = mid + timedelta(days=(6 - mid.weekday()) % 7) if mid else None
    return day


def parse_runs_per_week(answer: str) -> int:
    folded = fold(answer)
    match = re.search(r"\d+", folded)
    count = int(match.group()) if match else next((n for w, n in NUMBER_WORDS.items()
                                                   if re.search(rf"\b{w}\b", folded)), 0)
    if not 2 <= count <= 7:
        raise ValueError("Escribe cuántos días por semana quieres correr, de 2 a 7.")
    return count


def parse_level(answer: str) -> str:
    folded = fold(answer)
    for word, level in LEVELS.items():
        if re.search(rf"\b{word}", folded):
            return level
    raise ValueError("Responde principiante, intermedio o avanzado.")


def parse_injuries(answer: str) -> str:
    folded = fold(answer).strip(" .!")
    if folded in NONE_WORDS or folded.startswith("ningun"):
        return ""
    return answer.strip()[:200]


def parse_recent_result(answer: str) -> dict | None:
    """'5K en 25:00', '10 km 52:30', 'media maratón en 1:55:00' -> {"race", "seconds", "vdot"};
    None for "no". Checked against the fitness equations: an impossible time is refused."""
    from backend.plugins.running import fitness

    folded = fold(answer).strip(" .!")
    if folded in NONE_WORDS or folded.startswith(("no ", "nunca")):
        return None
    race = find_goal(folded)
    clock = re.search(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})", folded)
    if race not in RACE_DISTANCES_M or clock is None:
        raise ValueError("Escribe la carrera y el tiempo, por ejemplo «10K en 52:30», o «no».")
    hours, minutes, seconds = int(clock[1] or 0), int(clock[2]), int(clock[3])
    total = hours * 3600 + minutes * 60 + seconds
    if total / (RACE_DISTANCES_M[race] / 1000) > SLOWEST_RATED_PACE_S:
        return None  # walking pace: the tables rate nothing this slow; the plan starts gently without paces
    try:
        vdot = fitness.vdot_from_race(RACE_DISTANCES_M[race], total)
    except fitness.InvalidEffort:
        raise ValueError("Ese tiempo no parece posible para esa distancia. Revísalo, por favor.") from None
    return {"race": race, "seconds": total, "vdot": round(vdot, 2)}
