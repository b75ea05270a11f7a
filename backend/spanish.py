"""Dates and numbers as Spanish speakers read them on WhatsApp (shared by the domain plug-ins)."""
from __future__ import annotations

import re
from datetime import date

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def day_name(day: date) -> str:
    """'jueves 26 de noviembre'"""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


def long_date(day: date) -> str:
    """'18 de abril de 2027'"""
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


def decimal(value: float, places: int = 1) -> str:
    """17.8 -> '17,8', 6.0 -> '6', 2.25 -> '2,2' (Spanish decimal comma, no trailing zeros)."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def km(value: float) -> str:
    """10 -> '10 km', 10.5 -> '10,5 km'."""
    return decimal(value) + " km"


MONTH_NUMBERS = {"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
                 "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12}
MONTH_WORDS = "|".join(MONTH_NUMBERS)


def find_calendar_date(folded: str, today: date, ahead: bool) -> date | None:
    """'2027-03-15', '15/03(/2027)' or '15 de marzo (de 2027)' in accent-folded text. Without a
    year: the next such day after today when `ahead` (a race), else the last one up to today (a
    sowing)."""
    if match := re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", folded):
        return safe_date(int(match[1]), int(match[2]), int(match[3]))
    if match := re.search(r"(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?", folded):
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0) if match[3] else None
        return nearest(today, int(match[2]), int(match[1]), year, ahead)
    if match := re.search(rf"(\d{{1,2}})\s+(?:de\s+)?({MONTH_WORDS})(?:\s+(?:de\s+|del\s+)?(\d{{4}}))?", folded):
        return nearest(today, MONTH_NUMBERS[match[2]], int(match[1]), int(match[3]) if match[3] else None, ahead)
    return None


def nearest(today: date, month: int, day: int, year: int | None, ahead: bool) -> date | None:
    if year is not None:
        return safe_date(year, month, day)
    this_year = safe_date(today.year, month, day)
    if this_year is not None and (this_year > today if ahead else this_year <= today):
        return this_year
    return safe_date(today.year + (1 if ahead else -1), month, day)


def safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
