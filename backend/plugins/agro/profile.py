"""The producer's profile: the onboarding questions and how each answer is read. Every parser
raises ValueError with a Spanish sentence the producer sees, followed by the question again.
The answers also describe the first plot ("lote 1"); more plots come later."""
from __future__ import annotations

import re
from datetime import date, timedelta

from backend.spanish import find_calendar_date
from backend.text import fold

DONT_KNOW = ("no se", "nose", "no lo se", "ni idea", "no", "ninguna", "-")
METHODS = {  # what producers say -> the method; rates are typical when they do not know theirs
    "goteo": "goteo", "gota": "goteo", "aspersion": "aspersion", "aspersor": "aspersion",
    "gravedad": "gravedad", "surco": "gravedad", "inundacion": "gravedad", "melga": "gravedad",
    "secano": "secano", "lluvia": "secano", "temporal": "secano",
}
METHOD_NAMES_ES = {"goteo": "goteo", "aspersion": "aspersión", "gravedad": "gravedad (surcos)",
                   "secano": "secano (lluvia)"}
WATER_SOURCES = {"rio": "río", "pozo": "pozo", "canal": "canal", "acequia": "canal", "reservorio": "reservorio",
                 "qocha": "reservorio", "cocha": "reservorio", "lluvia": "lluvia", "manantial": "manantial",
                 "puquio": "manantial", "red": "red pública"}
NUMBER = r"\d+(?:[.,]\d+)?"


def parse_crop(answer: str) -> str:
    from backend.plugins.agro.crops import UnknownCrop, lookup_crop

    try:
        return lookup_crop(answer.strip()).key
    except UnknownCrop as problem:
        raise ValueError(str(problem)) from None  # it names the crop and lists the known ones


def parse_variety(answer: str) -> str:
    folded = fold(answer).strip(" .")
    return "" if folded in DONT_KNOW else answer.strip()[:60]


def parse_planting_date(answer: str, today: date | None = None) -> str:
    """An ISO date, not in the future: '15/08/2026', '15 de agosto', 'hace 3 meses', 'ayer'."""
    today = today or date.today()
    day = find_past_date(fold(answer), today)
    if day is None:
        raise ValueError("Escribe la fecha de siembra, por ejemplo 15/08/2026, «15 de agosto» o «hace 2 meses».")
    if day > today:
        raise ValueError("La fecha de siembra no puede estar en el futuro.")
    return day.isoformat()


OLDEST_DAYS = 100 * 365  # "hace N años" past a century is read as no date, not an overflow


def find_past_date(folded: str, today: date) -> date | None:
    if re.search(r"\bhoy\b", folded):
        return today
    if re.search(r"\banteayer\b", folded):
        return today - timedelta(days=2)
    if re.search(r"\bayer\b", folded):
        return today - timedelta(days=1)
    if match := re.search(r"hace\s+(\d+|un|una|dos|tres|cuatro|cinco|seis)\s+(dia|semana|mes|ano)", folded):
        count = {"un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6}.get(match[1])
        count = count or int(match[1][:6])  # "hace 99999999 años" is no date anyone sowed on
        days = {"dia": 1, "semana": 7, "mes": 30, "ano": 365}[match[2]] * count
        return today - timedelta(days=days) if days <= OLDEST_DAYS else None
    return find_calendar_date(folded, today, ahead=False)


def parse_area(answer: str) -> float:
    """Hectares: '2 ha', '2,5 hectáreas', 'media hectárea', '5000 m2', '1 topo' is not known."""
    folded = fold(answer)
    if re.search(r"\bmedia\s+hectarea", folded):
        return 0.5
    match = re.search(rf"({NUMBER})\s*(ha|hectareas?|m2|metros?|mts?|m²)?", folded)
    if match is None:
        raise ValueError("Escribe el área, por ejemplo «2 ha» o «5000 m2».")
    value = float(match[1].replace(",", "."))
    hectares = value / 10_000 if match[2] and match[2].startswith(("m", "mt")) else value
    if not 0 < hectares <= 10_000:
        raise ValueError("El área debe ser mayor que 0 y menor que 10 000 ha.")
    return round(hectares, 4)


def parse_location(answer: str) -> dict:
    """Coordinates ('-7.16, -78.51') or a named place ('Cajamarca'); the place is looked up on
    the map when the weather is first needed."""
    text = answer.strip()
    if match := re.search(rf"(-?{NUMBER})\s*[,;\s]\s*(-?{NUMBER})", text):
        latitude, longitude = (float(match[i].replace(",", ".")) for i in (1, 2))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("Esas coordenadas no existen: la latitud va de -90 a 90 y la longitud de -180 a 180.")
        return {"latitude": latitude, "longitude": longitude, "place": ""}
    if not re.search(r"[^\W\d_]{3,}", text):
        raise ValueError("Escribe el nombre de tu distrito o provincia, o tus coordenadas (-7.16, -78.51).")
    return {"latitude": None, "longitude": None, "place": text[:80]}


def parse_soil(answer: str) -> str:
    from backend.plugins.agro.soils import lookup_soil

    try:
        return lookup_soil(answer.strip()).key
    except ValueError as problem:
        raise ValueError(str(problem)) from None


def parse_irrigation(answer: str) -> dict:
    """'goteo', 'aspersión 6 mm/h', 'por gravedad', 'secano': the method and its rate if given."""
    folded = fold(answer)
    method = next((m for word, m in METHODS.items() if word in folded), None)
    if method is None:
        raise ValueError("Responde goteo, aspersión, gravedad o secano (solo lluvia).")
    rate = re.search(rf"({NUMBER})\s*mm\s*(?:/|por|x)\s*h", folded)
    return {"method": method, "rate_mm_h": float(rate[1].replace(",", ".")) if rate else None}


def parse_water_source(answer: str) -> str:
    folded = fold(answer)
    source = next((name for word, name in WATER_SOURCES.items() if word in folded), None)
    if source is None and folded.strip(" .") in DONT_KNOW:
        return ""
    return source or answer.strip()[:40]
