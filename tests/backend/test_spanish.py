"""Numbers and dates as the replies print them for Spanish readers."""
from datetime import date

import pytest

from backend.spanish import day_name, decimal, find_calendar_date, km, long_date


@pytest.mark.parametrize(("value", "places", "text"), [
    (17.8, 1, "17,8"), (6.0, 1, "6"), (10, 1, "10"), (0.04, 1, "0"), (2.375, 2, "2,38"), (1234.5, 1, "1234,5"),
    (80.0, 0, "80"),
])
def test_decimal_uses_a_comma_and_drops_trailing_zeros(value, places, text):
    assert decimal(value, places) == text


def test_km_and_dates():
    assert km(10.5) == "10,5 km" and km(21.0975) == "21,1 km"
    assert day_name(date(2026, 11, 23)) == "lunes 23 de noviembre"
    assert long_date(date(2027, 4, 18)) == "18 de abril de 2027"


def test_calendar_dates_without_a_year_look_ahead_or_back():
    today = date(2026, 11, 22)
    assert find_calendar_date("el 15 de marzo", today, ahead=True) == date(2027, 3, 15)
    assert find_calendar_date("el 15 de marzo", today, ahead=False) == date(2026, 3, 15)
    assert find_calendar_date("sembre el 2026-02-30", today, ahead=False) is None
