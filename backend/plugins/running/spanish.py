"""Dates and numbers as a Spanish-speaking runner reads them on WhatsApp."""
from __future__ import annotations

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


def km(value: float) -> str:
    """10 -> '10 km', 10.5 -> '10,5 km' (Spanish decimal comma)."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + " km"
