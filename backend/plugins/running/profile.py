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


# --- reading a free-form message for everything it states (onboarding's first messages) ----------

TARGET = re.compile(r"\b(bajar de|quiero|quisiera|meta|objetivo|sub|menos de|romper)\b")
DURATION = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})|(\d{1,2})\s*h(?:oras?)?\s*(\d{1,2})?|(\d{1,3})\s*(?:min|minutos)\b"
                      r"|\b(una|1)\s+hora\b")


# «hago 10k en 45», «media en 2»: a bare number after «en», minutes (hours for a half or a full
# marathon under 10); not a distance or a date («en 5 km», «en 3 semanas»).
BARE_TIME = re.compile(r"\ben\s+(\d{1,3})\b(?!\s*(?:k|km|kms|m|mts|metros|dias?|semanas?|meses|mes|anos?|:))")


def find_recent_result(text: str) -> dict | None:
    """A race result the message tells («mi mejor 10k es 48 min», «hice 5k en 25 min», «10k en
    45»); a target («quiero bajar de 25 minutos en 5K») is not one."""
    for clause in _clauses(text):
        duration, bare = DURATION.search(clause), BARE_TIME.search(clause)
        if duration is None and bare is None:
            continue
        start = duration.start() if duration is not None else bare.start()
        race = find_goal(clause[:start][-25:]) or find_goal(clause)  # the race named just before the time
        if race not in RACE_DISTANCES_M or TARGET.search(clause[:start]):
            continue
        if duration is not None:
            clock = _clock(duration)
        else:
            value = int(bare[1])
            hours = race in ("half", "marathon") and value < 10
            clock = f"{value}:00:00" if hours else f"{value // 60}:{value % 60:02d}:00"
        try:
            return parse_recent_result(f"{clause[:start]} {clock}")
        except ValueError:
            continue
    return None


def goal_from_result(profile: dict) -> str | None:
    """Without a stated goal: the race of the result told («mi mejor 10k es 50 min» and «¿a qué
    ritmo corro?»), said to the runner so they can change it; None leaves the goal to be asked."""
    return (profile.get("marca") or {}).get("race")


def goal_needed(profile: dict) -> bool:
    return goal_from_result(profile) is None


def _clauses(text: str) -> list[str]:
    # «si» too: «¿cuánto haría en una media si hago 10k en 45?» is a half goal and a 10K result
    return re.split(r"[,;.?!¿¡]|\by\b|\bpero\b|\bsi\b", fold(text))


def find_stated_goal(text: str) -> str | None:
    """The goal, leaving out the races of results told with it («¿ritmo para un 10k? hice 5k en
    25 min» is a 10K goal)."""
    return find_goal(" ".join(clause for clause in _clauses(text) if find_recent_result(clause) is None))


def _clock(duration: re.Match) -> str:
    if duration[3]:
        return duration[0]
    if duration[4]:
        return f"{int(duration[4])}:{int(duration[5] or 0):02d}:00"
    if duration[6]:
        minutes = int(duration[6])
        return f"{minutes // 60}:{minutes % 60:02d}:00"
    return "1:00:00"


def find_runs_per_week(text: str) -> int | None:
    folded = fold(text)
    match = re.search(r"\b(\d|dos|tres|cuatro|cinco|seis|siete)\s+(?:veces|dias)(?:\s+(?:por|a la|x)\s+semana)?", folded)
    if match is None or not re.search(r"\b(corro|corre|entreno|salgo|troto|corriendo|veces por semana|dias por semana)",
                                      folded):
        return None
    count = int(match[1]) if match[1].isdigit() else NUMBER_WORDS[match[1]]
    return count if 2 <= count <= 7 else None


def find_level(text: str) -> str | None:
    folded = fold(text)
    for word, level in LEVELS.items():
        if not word.isdigit() and re.search(rf"\b{word}[oa]?s?\b", folded):
            return level
    return None


def find_race_day(text: str, today: date | None = None) -> str | None:
    """«un 10K en marzo», «la maratón del 15 de abril»: a race date when a race is named."""
    today = today or date.today()
    if find_goal(text) not in RACE_DISTANCES_M:
        return None
    day = find_date(text, today)
    return day.isoformat() if day and today < day <= today + timedelta(days=LONGEST_PLAN_AHEAD_DAYS) else None


RUNS_FOR_LEVEL = {"beginner": 3, "intermediate": 4, "advanced": 5}


def runs_for_level(profile: dict) -> int:
    return RUNS_FOR_LEVEL.get(profile.get("nivel", "beginner"), 3)


def level_from_result(profile: dict) -> str:
    """Without a stated level: from the recent result's VDOT (Daniels' bands), else beginner."""
    vdot = (profile.get("marca") or {}).get("vdot")
    return "beginner" if not vdot or vdot < 40 else "intermediate" if vdot < 52 else "advanced"


def describe(name: str, value) -> str:
    if name == "objetivo":
        return f"objetivo {GOAL_NAMES_ES.get(value, value)}"
    if name == "marca":
        from backend.plugins.running.fitness import format_duration

        return f"{GOAL_NAMES_ES.get(value['race'], value['race'])} en {format_duration(value['seconds'])}" if value else ""
    if name == "carreras_por_semana":
        return f"{value} días por semana"
    if name == "nivel":
        return {"beginner": "nivel principiante", "intermediate": "nivel intermedio",
                "advanced": "nivel avanzado"}.get(value, value)
    if name == "lesiones":
        return "sin lesiones" if not value else value
    if name == "fecha_carrera":
        return f"carrera el {value}" if value else ""
    return str(value)


def follow_profile(db, contact, changed: dict) -> None:
    """Runs per week given later: the plan ahead is made again with them."""
    from backend.plugins.running import coach

    if "carreras_por_semana" in changed:
        coach.replan(db, contact, contact.local_today())
