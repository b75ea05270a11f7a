"""Reference ET0 against FAO-56's worked examples (inputs from the examples, expected values as
printed, compared within the printed precision), the method choice and the input checks."""
import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.plugins.agro.et0 import (HARGREAVES, PENMAN_MONTEITH, DayWeather, daylight_hours,
                                      extraterrestrial_radiation, monthly_soil_heat_flux, reference_et0,
                                      wind_at_2m)

BRUSSELS = (50 + 48 / 60, 100.0)  # 50°48'N, 100 m
BANGKOK = (13 + 44 / 60, 2.0)  # 13°44'N, 2 m
LYON = 45 + 43 / 60  # 45°43'N


def brussels_6_july() -> DayWeather:
    """FAO-56 Example 18: 6 July, Tmax 21.5 °C, Tmin 12.3 °C, RHmax 84 %, RHmin 63 %, 10 km/h of
    wind measured at 10 m, 9.25 hours of sunshine."""
    return DayWeather(date(2015, 7, 6), tmin_c=12.3, tmax_c=21.5, rh_max=84, rh_min=63, wind_ms=10 / 3.6,
                      wind_height_m=10, sunshine_h=9.25)


def test_example_18_daily_penman_monteith_brussels():
    et0, method = reference_et0(brussels_6_july(), *BRUSSELS)
    assert method == PENMAN_MONTEITH
    assert round(et0, 1) == 3.9  # mm/day as printed


def test_example_18_intermediate_values():
    day = date(2015, 7, 6)
    assert wind_at_2m(10 / 3.6, 10) == pytest.approx(2.078, abs=5e-4)  # eq. 47
    assert extraterrestrial_radiation(BRUSSELS[0], day) == pytest.approx(41.09, abs=0.005)
    assert round(daylight_hours(BRUSSELS[0], day), 1) == 16.1


def test_example_17_monthly_penman_monteith_bangkok():
    """FAO-56 Example 17, April means: Tmax 34.8 °C, Tmin 25.6 °C, ea 2.85 kPa, u2 2 m/s, 8.5 h of
    sunshine, Tmean 29.2 °C in March and 30.2 °C in April (G by eq. 44). Printed: 5.72 mm/day."""
    april = DayWeather(date(2015, 4, 15), tmin_c=25.6, tmax_c=34.8, vapour_pressure_kpa=2.85, wind_ms=2.0,
                       sunshine_h=8.5)
    soil_heat_flux = monthly_soil_heat_flux(29.2, 30.2)
    assert soil_heat_flux == pytest.approx(0.14)
    et0, method = reference_et0(april, *BANGKOK, soil_heat_flux=soil_heat_flux)
    assert method == PENMAN_MONTEITH
    assert et0 == pytest.approx(5.72, abs=0.005)
    assert extraterrestrial_radiation(BANGKOK[0], april.day) == pytest.approx(38.06, abs=0.005)
    assert round(daylight_hours(BANGKOK[0], april.day), 2) == 12.31


def test_examples_8_and_9_extraterrestrial_radiation_and_daylight():
    """3 September at 20°S: Ra = 32.2 MJ m-2 day-1, N = 11.7 h."""
    assert round(extraterrestrial_radiation(-20, date(2015, 9, 3)), 1) == 32.2
    assert round(daylight_hours(-20, date(2015, 9, 3)), 1) == 11.7


def test_hargreaves_with_example_20_temperatures():
    """FAO-56 prints no Hargreaves ET0. Example 20 gives Lyon in mid-July (Tmax 26.6 °C, Tmin
    14.8 °C) and Ra = 40.6 MJ m-2 day-1; eq. 52 by hand on those numbers:
    0.0023 (20.7 + 17.8) √11.8 × 0.408 × 40.6 = 5.04 mm/day."""
    july = DayWeather(date(2015, 7, 15), tmin_c=14.8, tmax_c=26.6)
    assert round(extraterrestrial_radiation(LYON, july.day), 1) == 40.6
    et0, method = reference_et0(july, LYON, 200)
    assert method == HARGREAVES
    by_hand = 0.0023 * (20.7 + 17.8) * math.sqrt(26.6 - 14.8) * 0.408 * 40.6
    assert et0 == pytest.approx(by_hand, abs=0.05)


@pytest.mark.parametrize("missing", ["wind_ms", "rh", "radiation"])
def test_penman_monteith_only_with_humidity_wind_and_radiation(missing):
    fields = {"rh_mean": 70.0, "wind_ms": 2.0, "solar_mj_m2": 20.0}
    fields.pop({"rh": "rh_mean", "radiation": "solar_mj_m2"}.get(missing, missing))
    weather = DayWeather(date(2024, 1, 15), tmin_c=18, tmax_c=27, **fields)
    assert reference_et0(weather, -12.0, 150)[1] == HARGREAVES


def test_rh_min_alone_is_no_humidity_but_rh_max_alone_is():
    common = {"day": date(2024, 1, 15), "tmin_c": 18, "tmax_c": 27, "wind_ms": 2.0, "sunshine_h": 8.0}
    assert reference_et0(DayWeather(rh_min=50, **common), -12.0, 150)[1] == HARGREAVES
    assert reference_et0(DayWeather(rh_max=90, **common), -12.0, 150)[1] == PENMAN_MONTEITH


def test_open_meteo_style_day_on_the_coast_is_plausible():
    """Lima in January: a humid, cloudy-morning coast gives 3-6 mm/day."""
    weather = DayWeather(date(2024, 1, 15), tmin_c=20.5, tmax_c=27.0, rh_mean=78, wind_ms=4.0, wind_height_m=10,
                         solar_mj_m2=22.0)
    et0, method = reference_et0(weather, -12.05, 150)
    assert method == PENMAN_MONTEITH
    assert 3 < et0 < 6


def test_tmean_is_checked_but_the_fao_mean_is_used():
    with_mean = DayWeather(date(2015, 7, 6), 12.3, 21.5, tmean_c=15.0, rh_max=84, rh_min=63, wind_ms=2.078,
                           sunshine_h=9.25)
    without = DayWeather(date(2015, 7, 6), 12.3, 21.5, rh_max=84, rh_min=63, wind_ms=2.078, sunshine_h=9.25)
    assert reference_et0(with_mean, *BRUSSELS) == reference_et0(without, *BRUSSELS)


@pytest.mark.parametrize(("change", "message"), [
    ({"tmin_c": None}, "tmin_c is required"),
    ({"tmin_c": 25.0}, "above tmax_c"),
    ({"tmax_c": float("nan")}, "finite"),
    ({"tmax_c": 75.0}, "plausible range"),
    ({"tmean_c": 30.0}, "tmean_c"),
    ({"rh_max": 0.84}, "fraction"),
    ({"rh_min": 90.0}, "above rh_max"),
    ({"rh_mean": 120.0}, "rh_mean"),
    ({"wind_ms": -1.0}, "wind_ms"),
    ({"wind_height_m": 0.0}, "wind_height_m"),
    ({"solar_mj_m2": 250.0}, "not W/m2"),
    ({"sunshine_h": 17.0}, "daylight hours"),
    ({"vapour_pressure_kpa": 0.0}, "vapour_pressure_kpa"),
    ({"rain_mm": -3.0}, "rain_mm"),
])
def test_implausible_weather_is_refused_with_the_field_named(change, message):
    weather = DayWeather(**{**brussels_6_july().__dict__, **change})
    with pytest.raises(ValueError, match=message):
        reference_et0(weather, *BRUSSELS)


@pytest.mark.parametrize(("latitude", "elevation", "message"), [
    (91.0, 100.0, "latitude_deg"), (-90.5, 100.0, "latitude_deg"), (50.8, 9000.0, "elevation_m"),
])
def test_impossible_sites_are_refused(latitude, elevation, message):
    with pytest.raises(ValueError, match=message):
        reference_et0(brussels_6_july(), latitude, elevation)


def test_radiation_needs_a_real_latitude():
    with pytest.raises(ValueError, match="latitude_deg"):
        extraterrestrial_radiation(95.0, date(2015, 7, 6))


def test_wind_already_at_two_metres_is_unchanged():
    assert wind_at_2m(3.0, 2.0) == 3.0
    assert wind_at_2m(3.0, 10.0) < 3.0 < wind_at_2m(3.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(tmin=st.floats(-10, 30), spread=st.floats(0, 25), latitude=st.floats(-60, 60),
       rh=st.floats(5, 100), wind=st.floats(0, 15), fraction_of_sun=st.floats(0, 1),
       day=st.dates(date(2020, 1, 1), date(2020, 12, 31)), elevation=st.floats(0, 4800))
def test_et0_is_a_small_non_negative_number(tmin, spread, latitude, rh, wind, fraction_of_sun, day, elevation):
    sunshine = fraction_of_sun * daylight_hours(latitude, day)
    weather = DayWeather(day, tmin, tmin + spread, rh_mean=rh, wind_ms=wind, sunshine_h=sunshine)
    for candidate in (weather, DayWeather(day, tmin, tmin + spread)):
        et0, _ = reference_et0(candidate, latitude, elevation)
        # The hottest, driest, windiest corner of these ranges (55 °C, 5 % RH, 15 m/s, full sun) reaches ~35 mm.
        assert 0 <= et0 < 40
