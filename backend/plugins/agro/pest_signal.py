"""The community pest signal: when several producers near each other report the same pest on the
same crop within a few days, their neighbours growing that crop are warned, once per outbreak.
Pure functions over plain data; the scheduler job (jobs.py) reads the reports and records alerts.

Clustering (`find_outbreaks`), for each pest and crop, over the reports of the last `window_days`
days (today included; reports dated after today or placed off the globe are ignored):
- a report's neighbourhood is every report within `radius_km` of it, itself included;
- a report is a seed when its neighbourhood holds `min_reporters` distinct producers (a producer
  who reports five times counts once);
- an outbreak is a seed's neighbourhood merged with every other seed neighbourhood it shares a
  report with, transitively. Reports in no seed's neighbourhood make no outbreak.
So an outbreak always has `min_reporters` producers within `radius_km` of one of its reports, and
more reports only grow or merge outbreaks, never split them.

Identity ("alert once"): `Outbreak.key` is "pest|crop|day|lat,lon" of the outbreak's earliest
report. A growing outbreak can change key (an earlier report joins, two outbreaks merge, the
window slides past the first report), so `producers_to_alert` does not trust the exact key alone:
a producer already alerted under any key of the same pest and crop whose day is at most
`memory_days` before this outbreak's first day is not alerted again. Such a producer was near
that outbreak and is near this one: to them both say "this pest is around your field", and one
such message per pest, crop and month is what is useful; a new outbreak after a quiet month
alerts again.

Reporters are not alerted: they know their field is attacked, and their report was answered
with the pest's advice when they sent it."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from backend.plugins.agro.pests import CROP_WORDS, words
from backend.spanish import MONTHS

EARTH_RADIUS_KM = 6371.0088  # mean radius
HIGH_LEVEL_REPORTERS = 6  # this many producers reporting is a high alert level, fewer a moderate one
MAX_ALERT_CHARS = 300


@dataclass(frozen=True)
class PestReport:
    reporter_id: int
    pest: str
    crop: str
    latitude: float
    longitude: float
    day: date


@dataclass(frozen=True)
class Producer:
    id: int
    crop: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class SignalSettings:
    min_reporters: int = 3
    radius_km: float = 10.0
    window_days: int = 5
    memory_days: int = 30  # an alerted producer is not alerted again for the same pest and crop

    def __post_init__(self) -> None:
        if self.min_reporters < 1 or self.window_days < 1 or self.memory_days < 0:
            raise ValueError("min_reporters and window_days must be at least 1, memory_days at least 0")
        if not self.radius_km > 0:
            raise ValueError("radius_km must be positive")


@dataclass(frozen=True)
class Outbreak:
    pest: str
    crop: str
    center: tuple[float, float]  # the mean of its producers' positions (each producer weighs once)
    reporters: frozenset[int]
    first_day: date
    last_day: date
    key: str  # "pest|crop|day|lat,lon" of the earliest report: see the module docstring
    points: tuple[tuple[float, float], ...] = ()  # where its reports are


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def find_outbreaks(reports: list[PestReport], today: date, settings: SignalSettings) -> list[Outbreak]:
    """The outbreaks in the window ending today, by key."""
    groups: dict[tuple[str, str], list[PestReport]] = defaultdict(list)
    for report in reports:
        if _in_window(report.day, today, settings) and _on_globe(report.latitude, report.longitude):
            groups[(_slug(report.pest), _slug(report.crop))].append(report)
    outbreaks = [outbreak for group in groups.values() for outbreak in _clusters(group, settings)]
    return sorted(outbreaks, key=lambda o: o.key)


def producers_to_alert(outbreak: Outbreak, producers: list[Producer], already_alerted: set[tuple[str, int]],
                       settings: SignalSettings) -> list[Producer]:
    """Producers of the outbreak's crop within `radius_km` of its centre or of one of its reports,
    neither reporters nor already warned of this pest (see the module docstring), by id."""
    skip = _already_warned(outbreak, already_alerted, settings) | outbreak.reporters
    chosen: dict[int, Producer] = {}
    for producer in producers:
        if (producer.id not in skip and producer.id not in chosen and _slug(producer.crop) == _slug(outbreak.crop)
                and _near(outbreak, producer, settings.radius_km)):
            chosen[producer.id] = producer
    return sorted(chosen.values(), key=lambda p: p.id)


def alert_text(outbreak: Outbreak, pest_name_es: str) -> str:
    """The WhatsApp alert, in Spanish, at most 300 characters, with a suggested alert level."""
    count = len(outbreak.reporters)
    high = count >= HIGH_LEVEL_REPORTERS
    name = _short(pest_name_es[:1].lower() + pest_name_es[1:], 32)
    who = f"{count} productores de" if count != 1 else "1 productor de"
    reported = "reportaron" if count != 1 else "reportó"
    text = (f"⚠️ Alerta de plaga (nivel {'alto' if high else 'moderado'}): {who} "
            f"{_short(_crop_name(outbreak.crop), 20)} cerca de usted {reported} {name} "
            f"{_days(outbreak.first_day, outbreak.last_day)}. Revise su chacra {'hoy' if high else 'esta semana'}. "
            "Si la ve, escríbame y le digo cómo manejarla."
            + (" Si el daño es fuerte, avise a la agencia agraria o al SENASA." if high else ""))
    return text if len(text) <= MAX_ALERT_CHARS else _short(text, MAX_ALERT_CHARS)


def _in_window(day: date, today: date, settings: SignalSettings) -> bool:
    return today - timedelta(days=settings.window_days) < day <= today


def _on_globe(latitude: float, longitude: float) -> bool:
    return -90 <= latitude <= 90 and -180 <= longitude <= 180  # also False for NaN


def _slug(text: str) -> str:
    """What pests and crops are compared by: "Maíz" and "maiz" are one crop."""
    return "_".join(words(text))


def _order(report: PestReport) -> tuple:
    """Earliest first; ties broken so the same reports always give the same key."""
    return report.day, report.reporter_id, report.latitude, report.longitude


def _clusters(reports: list[PestReport], settings: SignalSettings) -> list[Outbreak]:
    reports = sorted(reports, key=_order)
    positions = [(r.latitude, r.longitude) for r in reports]
    near = [{j for j, other in enumerate(positions) if haversine_km(here, other) <= settings.radius_km}
            for here in positions]
    seeds = [group for group in near if len({reports[j].reporter_id for j in group}) >= settings.min_reporters]
    return [_outbreak([reports[i] for i in sorted(group)]) for group in _merge_overlapping(seeds)]


def _merge_overlapping(groups: list[set[int]]) -> list[set[int]]:
    """Unions of the groups that share a member, directly or through others."""
    merged: list[set[int]] = []
    for group in groups:
        group = set(group)
        for other in [m for m in merged if m & group]:
            group |= other
            merged.remove(other)
        merged.append(group)
    return merged


def _outbreak(reports: list[PestReport]) -> Outbreak:
    first = min(reports, key=_order)
    by_reporter: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for report in reports:
        by_reporter[report.reporter_id].append((report.latitude, report.longitude))
    center = _mean([_mean(places) for places in by_reporter.values()])
    key = f"{_slug(first.pest)}|{_slug(first.crop)}|{first.day.isoformat()}|{first.latitude:.4f},{first.longitude:.4f}"
    return Outbreak(first.pest, first.crop, center, frozenset(by_reporter), first.day, max(r.day for r in reports),
                    key, tuple(sorted({(r.latitude, r.longitude) for r in reports})))


def _mean(places: list[tuple[float, float]]) -> tuple[float, float]:
    """Plain average of coordinates: fine over a few tens of km away from the antimeridian (Peru)."""
    return sum(p[0] for p in places) / len(places), sum(p[1] for p in places) / len(places)


def _already_warned(outbreak: Outbreak, already_alerted: set[tuple[str, int]], settings: SignalSettings) -> set[int]:
    since = outbreak.first_day - timedelta(days=settings.memory_days)
    problem = (_slug(outbreak.pest), _slug(outbreak.crop))
    return {producer_id for key, producer_id in already_alerted
            if key == outbreak.key or _same_problem_since(key, problem, since)}


def _same_problem_since(key: str, problem: tuple[str, str], since: date) -> bool:
    """Whether an outbreak key (see Outbreak.key) is of this pest and crop, dated `since` or later."""
    parts = key.split("|")
    if len(parts) != 4 or (parts[0], parts[1]) != problem:
        return False
    try:
        return date.fromisoformat(parts[2]) >= since
    except ValueError:
        return False


def _near(outbreak: Outbreak, producer: Producer, radius_km: float) -> bool:
    if not _on_globe(producer.latitude, producer.longitude):
        return False
    here = (producer.latitude, producer.longitude)
    return any(haversine_km(here, place) <= radius_km for place in (outbreak.center, *outbreak.points))


def _crop_name(crop: str) -> str:
    """A crop key as producers write it: "maiz" -> "maíz"."""
    folded = " ".join(words(crop))
    if folded in CROP_WORDS and " ".join(words(CROP_WORDS[folded])) == folded:
        return CROP_WORDS[folded]
    return " ".join(crop.replace("_", " ").split()).lower()


def _days(first: date, last: date) -> str:
    """'el 5 de marzo', 'entre el 3 y el 5 de marzo', 'entre el 30 de abril y el 2 de mayo'."""
    if first == last:
        return f"el {first.day} de {MONTHS[first.month - 1]}"
    if (first.year, first.month) == (last.year, last.month):
        return f"entre el {first.day} y el {last.day} de {MONTHS[last.month - 1]}"
    return f"entre el {first.day} de {MONTHS[first.month - 1]} y el {last.day} de {MONTHS[last.month - 1]}"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
