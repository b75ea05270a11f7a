"""One run, however it reached us (a chat message, a Garmin Connect CSV, the web form), and the
sanity checks every run passes before it is stored.

The limits are deliberately generous: they catch typos and unit mix-ups (a marathon "in 2 minutes",
10 000 km instead of 10 000 m), not slow or fast runners. Messages are Spanish because they go
straight back to the runner on WhatsApp.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

SOURCES = ("chat", "garmin", "form")

MIN_DISTANCE_KM = 0.01  # 10 m: anything shorter is a slip of the unit, and its pace overflows
MAX_DISTANCE_KM = 350.0  # longer than any single-stage ultra most people will ever log
# Men's world records are ~2:12/km (1000 m) and ~2:51/km (marathon); 2:30/km over 1 km or more
# only refuses what nobody in this app can run. Under 1 km (strides, 400 m reps) allow sprint paces,
# still faster than the 100 m record (~1:36/km) is refused.
FASTEST_PACE_S_PER_KM = 150.0
FASTEST_SPRINT_PACE_S_PER_KM = 96.0
SLOWEST_PACE_S_PER_KM = 1200.0  # 20:00/km: slower than brisk walking, so a wrong unit or a pause


@dataclass(frozen=True)
class RunRecord:
    day: date
    distance_km: float
    duration_s: float
    rpe: int | None = None  # perceived effort 1..10
    mood: int | None = None  # 1 muy mal .. 5 excelente
    aches: tuple[str, ...] = ()  # body areas in Spanish, e.g. ("rodilla",)
    notes: str = ""
    source: str = "chat"  # "chat" | "garmin" | "form"
    external_id: str | None = None  # Garmin activity id or a derived key, for duplicates

    @property
    def pace_s_per_km(self) -> float:
        """Seconds per kilometre; infinite for a record without distance (never a ZeroDivisionError,
        nor the OverflowError a distance like 1e-308 would raise)."""
        if not self.distance_km > 0:
            return math.inf
        try:
            return self.duration_s / self.distance_km
        except OverflowError:
            return math.inf


class InvalidRun(ValueError):
    """A run that cannot be right; the message is Spanish and can be shown to the runner as is."""


def format_pace(seconds_per_km: float) -> str:
    """"5:30" for 330 s/km: how runners read a pace."""
    if not math.isfinite(seconds_per_km):
        return "--:--"
    total = round(seconds_per_km)
    return f"{total // 60}:{total % 60:02d}"


def format_day(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def one_year_before(today: date) -> date:
    # 29 February has no twin a year earlier.
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def validate_run(record: RunRecord, today: date) -> RunRecord:
    """The record itself when it is plausible; otherwise InvalidRun naming the first problem."""
    _check_distance(record.distance_km)
    _check_duration(record.duration_s)
    _check_pace(record.distance_km, record.pace_s_per_km)
    _check_day(record.day, today)
    _check_scale(record.rpe, 1, 10, "El esfuerzo (RPE) debe ser un número entero del 1 al 10.")
    _check_scale(record.mood, 1, 5, "El ánimo debe ser un número entero del 1 (muy mal) al 5 (excelente).")
    if record.source not in SOURCES:
        raise InvalidRun(f"Origen desconocido: {record.source!r}.")
    return record


def check_stored(record: RunRecord) -> None:
    """The checks a run read back from the database must pass before any computation uses it
    (a row written before a check existed, or by hand): InvalidRun otherwise. Pace and date ranges
    are left out: they depend on the day the run was logged."""
    _check_distance(record.distance_km)
    _check_duration(record.duration_s)
    _check_scale(record.rpe, 1, 10, "RPE fuera de 1..10")
    _check_scale(record.mood, 1, 5, "ánimo fuera de 1..5")
    if not all(isinstance(area, str) for area in record.aches):
        raise InvalidRun("molestias que no son texto")


def _check_distance(distance_km: float) -> None:
    # NaN compares false with everything, so "not > 0" (not "<= 0") also refuses it.
    if not (isinstance(distance_km, (int, float)) and distance_km > 0 and math.isfinite(distance_km)):
        raise InvalidRun("La distancia debe ser mayor que 0 km.")
    if distance_km < MIN_DISTANCE_KM:
        raise InvalidRun("La distancia es de menos de 10 m; ¿quizá eran kilómetros?")
    if distance_km > MAX_DISTANCE_KM:
        raise InvalidRun(f"La distancia no puede pasar de {MAX_DISTANCE_KM:.0f} km; ¿quizá eran metros?")


def _check_duration(duration_s: float) -> None:
    if not (isinstance(duration_s, (int, float)) and duration_s > 0 and math.isfinite(duration_s)):
        raise InvalidRun("La duración debe ser mayor que 0.")


def _check_pace(distance_km: float, pace: float) -> None:
    fastest = FASTEST_PACE_S_PER_KM if distance_km >= 1 else FASTEST_SPRINT_PACE_S_PER_KM
    if pace < fastest:
        raise InvalidRun(f"Un ritmo de {format_pace(pace)} min/km es más rápido que el récord mundial; "
                         "revisa la distancia o el tiempo.")
    if pace > SLOWEST_PACE_S_PER_KM:
        raise InvalidRun(f"Un ritmo de {format_pace(pace)} min/km es más lento que 20:00 min/km; "
                         "revisa la distancia o el tiempo.")


def _check_day(day: date, today: date) -> None:
    if day > today:
        raise InvalidRun(f"La fecha {format_day(day)} está en el futuro.")
    if day < one_year_before(today):
        raise InvalidRun(f"La fecha {format_day(day)} es de hace más de un año.")


def _check_scale(value: int | None, low: int, high: int, message: str) -> None:
    # bool is an int in Python; True must not pass as an effort of 1.
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRun(message)


def dedupe_key(record: RunRecord) -> str:
    """The same run logged twice gets the same key: its external id, else the day with the distance
    to 0.1 km and the duration to the minute (so "10 km en 55 min" matches 10.02 km in 55:12)."""
    if record.external_id:
        return record.external_id
    minutes = round(record.duration_s / 60)
    return f"{record.day.isoformat()}|{record.distance_km:.1f}km|{minutes}min"
