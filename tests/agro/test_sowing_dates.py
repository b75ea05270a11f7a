"""A sowing date as producers write it, read against a fixed today: «hace N meses» counts calendar
months (not 30-day blocks), a month's end is kept in a shorter month, and no date is in the future."""
from __future__ import annotations

from datetime import date

import pytest

from backend.plugins.agro.profile import parse_planting_date

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize("text, sown", [
    ("hace 3 meses", "2026-09-02"),
    ("la sembre hace tres meses", "2026-09-02"),
    ("hace un mes", "2026-11-02"),
    ("hace 12 meses", "2025-12-02"),
    ("hace un año", "2025-12-02"),
    ("hace 2 semanas", "2026-11-18"),
    ("hace 10 dias", "2026-11-22"),
    ("ayer", "2026-12-01"),
    ("15/08/2026", "2026-08-15"),
    ("en agosto", "2026-08-15"),
])
def test_a_sowing_date_is_read_as_written(text, sown):
    assert parse_planting_date(text, TODAY) == sown


def test_a_month_back_from_its_last_day_lands_on_the_shorter_months_last_day():
    assert parse_planting_date("hace 3 meses", date(2026, 5, 31)) == "2026-02-28"
    assert parse_planting_date("hace 1 mes", date(2024, 3, 31)) == "2024-02-29"


@pytest.mark.parametrize("text", ["mañana", "hace 99999999 años", "no se"])
def test_no_date_or_an_impossible_one_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match="fecha de siembra"):
        parse_planting_date(text, TODAY)
