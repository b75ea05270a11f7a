"""Reference evapotranspiration ET0 of one day (FAO Irrigation and Drainage Paper 56, ch. 2-4):
FAO-56 Penman-Monteith (eq. 6) when the day's weather is complete, Hargreaves (eq. 52) when only
the temperatures are known.

The equations come from pyet (pyet-org/pyet, MIT), not re-written here. Why pyet rather than
pyfao56, the other well-kept candidate:

* pyet implements FAO-56 itself: `pm_fao56` (eq. 6) with the radiation chain from sunshine hours
  (eq. 21-40: Ra, N, Rs from n/N with the Angstrom values 0.25/0.50, Rso, Rnl), the vapour
  pressure variants (eq. 11-19) and a `g` soil heat flux argument (eq. 42-44), plus Hargreaves
  with Ra from latitude and day. Its own tests reproduce FAO-56 Examples 8-10 and 18.
* pyfao56 is a season-long dual-Kc model driven by its own weather/parameter files; its ET0 is
  the ASCE standardized equation (the same as FAO-56 for the daily grass reference) but it needs
  measured solar radiation (no sunshine hours), has no Hargreaves, and brings matplotlib and
  requests along.
* Cost of pyet: numpy, pandas and xarray, and inputs as pandas Series with a DatetimeIndex; a
  daily point value is a one-element Series (a fraction of a millisecond each).

Two FAO-56 rules applied here rather than in pyet: wind measured at another height is brought to
2 m (eq. 47), and Tmean is (Tmax + Tmin) / 2 (the ch. 3 standardization for daily ET0), so a
given `tmean_c` is only checked, never used. pyet's Hargreaves divides by the latent heat
λ(T) = 2.501 - 0.002361 T where FAO-56 eq. 52 multiplies by 0.408 = 1 / 2.45: under 0.5 % apart
between 0 and 30 °C.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from numbers import Real

import pandas as pd
import pyet
from pyet.meteo_utils import calc_e0

PENMAN_MONTEITH = "penman-monteith"
HARGREAVES = "hargreaves"

# Plausible ranges: outside them the input is a unit or typing mistake, not weather.
TEMPERATURE_C = (-60.0, 60.0)
ELEVATION_M = (-500.0, 6000.0)  # the highest fields of the Andes are near 4 500 m
WIND_MS = (0.0, 50.0)
WIND_HEIGHT_M = (0.5, 100.0)
SOLAR_MJ_M2 = (0.0, 50.0)  # Ra never exceeds ~45 MJ m-2 day-1 (FAO-56 Annex 2, Table 2.6)
VAPOUR_PRESSURE_KPA = (0.0, 8.0)  # e°(40 °C) is 7.4 kPa
SOIL_HEAT_FLUX = (-10.0, 10.0)


@dataclass(frozen=True)
class DayWeather:
    """One day's weather at the field (FAO-56 ch. 3). Only tmin_c and tmax_c are required;
    humidity, wind and radiation together make Penman-Monteith possible."""

    day: date
    tmin_c: float
    tmax_c: float
    tmean_c: float | None = None  # checked only: FAO-56 uses (Tmax + Tmin) / 2 for daily ET0
    rh_mean: float | None = None  # %
    rh_min: float | None = None  # %
    rh_max: float | None = None  # %
    wind_ms: float | None = None  # mean speed at wind_height_m above the ground
    wind_height_m: float = 2.0
    solar_mj_m2: float | None = None  # incoming shortwave radiation Rs, daily sum
    sunshine_h: float | None = None  # actual hours of bright sunshine n
    rain_mm: float = 0.0
    vapour_pressure_kpa: float | None = None  # actual vapour pressure ea, when measured


def reference_et0(weather: DayWeather, latitude_deg: float, elevation_m: float,
                  soil_heat_flux: float = 0.0) -> tuple[float, str]:
    """(ET0 in mm/day, method). Penman-Monteith (FAO-56 eq. 6) when humidity (RH or ea), wind and
    radiation (Rs or sunshine hours) are all known, otherwise Hargreaves (eq. 52).

    `soil_heat_flux` G (MJ m-2 day-1) is 0 for daily steps (eq. 42); pass eq. 43/44
    (`monthly_soil_heat_flux`) when the weather is a month's average. Hargreaves ignores it.
    Raises ValueError, naming the field, for missing temperatures or implausible values."""
    _check_site(latitude_deg, elevation_m)
    _check_weather(weather, latitude_deg)
    _check_range("soil_heat_flux", soil_heat_flux, SOIL_HEAT_FLUX)
    tmean = (weather.tmax_c + weather.tmin_c) / 2
    latitude = math.radians(latitude_deg)
    one_day = pd.DatetimeIndex([pd.Timestamp(weather.day)])

    def series(value: float) -> pd.Series:
        return pd.Series([float(value)], index=one_day)

    if not has_penman_monteith_inputs(weather):
        et0 = pyet.hargreaves(series(tmean), series(weather.tmax_c), series(weather.tmin_c), latitude)
        return float(et0.iloc[0]), HARGREAVES
    humidity = _humidity_arguments(weather)
    radiation = ({"rs": series(weather.solar_mj_m2)} if weather.solar_mj_m2 is not None
                 else {"n": series(weather.sunshine_h)})
    et0 = pyet.pm_fao56(series(tmean), series(wind_at_2m(weather.wind_ms, weather.wind_height_m)),
                        g=soil_heat_flux, tmax=series(weather.tmax_c), tmin=series(weather.tmin_c),
                        elevation=elevation_m, lat=latitude, **humidity, **radiation)
    return float(et0.iloc[0]), PENMAN_MONTEITH


def has_penman_monteith_inputs(weather: DayWeather) -> bool:
    humidity = (weather.vapour_pressure_kpa is not None or weather.rh_max is not None
                or weather.rh_mean is not None)  # RHmin alone is no humidity (FAO-56 ch. 3)
    radiation = weather.solar_mj_m2 is not None or weather.sunshine_h is not None
    return humidity and radiation and weather.wind_ms is not None


def wind_at_2m(speed_ms: float, height_m: float) -> float:
    """FAO-56 eq. 47: the logarithmic wind profile over short grass."""
    if height_m == 2.0:
        return speed_ms
    return speed_ms * 4.87 / math.log(67.8 * height_m - 5.42)


def extraterrestrial_radiation(latitude_deg: float, day: date) -> float:
    """Ra in MJ m-2 day-1 (FAO-56 eq. 21, with eq. 23-25 for dr, δ and ωs)."""
    _check_site(latitude_deg, 0.0)
    ra = pyet.extraterrestrial_r(pd.DatetimeIndex([pd.Timestamp(day)]), math.radians(latitude_deg))
    return float(ra.iloc[0])


def daylight_hours(latitude_deg: float, day: date) -> float:
    """N, the maximum possible hours of sunshine (FAO-56 eq. 34)."""
    _check_site(latitude_deg, 0.0)
    return float(pyet.daylight_hours(pd.DatetimeIndex([pd.Timestamp(day)]), math.radians(latitude_deg))[0])


def monthly_soil_heat_flux(t_previous_month_c: float, t_month_c: float,
                           t_next_month_c: float | None = None) -> float:
    """G for monthly periods: FAO-56 eq. 43 when next month's mean temperature is known, else
    eq. 44."""
    if t_next_month_c is not None:
        return 0.07 * (t_next_month_c - t_previous_month_c)
    return 0.14 * (t_month_c - t_previous_month_c)


def _humidity_arguments(weather: DayWeather) -> dict:
    """pyet's keyword arguments for the best humidity data at hand, in FAO-56's order: measured ea,
    RHmax with RHmin (eq. 17), RHmax alone (eq. 18), RHmean (eq. 19)."""
    if weather.vapour_pressure_kpa is not None:
        return {"ea": weather.vapour_pressure_kpa}
    if weather.rh_max is not None and weather.rh_min is not None:
        return {"rhmax": weather.rh_max, "rhmin": weather.rh_min}
    if weather.rh_max is not None:  # pyet has no eq. 18 of its own
        return {"ea": float(calc_e0(weather.tmin_c)) * weather.rh_max / 100}
    return {"rh": weather.rh_mean}


def _check_site(latitude_deg: float, elevation_m: float) -> None:
    _check_range("latitude_deg", latitude_deg, (-90.0, 90.0))
    _check_range("elevation_m", elevation_m, ELEVATION_M)


def _check_weather(weather: DayWeather, latitude_deg: float) -> None:
    for name in ("tmin_c", "tmax_c"):
        if getattr(weather, name) is None:
            raise ValueError(f"{name} is required for ET0 ({weather.day})")
        _check_range(name, getattr(weather, name), TEMPERATURE_C)
    if weather.tmin_c > weather.tmax_c:
        raise ValueError(f"tmin_c ({weather.tmin_c}) is above tmax_c ({weather.tmax_c}) on {weather.day}")
    if weather.tmean_c is not None:
        _check_range("tmean_c", weather.tmean_c, (weather.tmin_c, weather.tmax_c))
    for name in ("rh_mean", "rh_min", "rh_max"):
        value = getattr(weather, name)
        if value is not None:
            _check_range(name, value, (0.0, 100.0))
            if value <= 1.0:  # pyet refuses these too: almost always a fraction given for a %
                raise ValueError(f"{name} is a percentage (1-100], got {value}: a fraction?")
    if weather.rh_min is not None and weather.rh_max is not None and weather.rh_min > weather.rh_max:
        raise ValueError(f"rh_min ({weather.rh_min}) is above rh_max ({weather.rh_max})")
    if weather.vapour_pressure_kpa is not None:
        _check_range("vapour_pressure_kpa", weather.vapour_pressure_kpa, VAPOUR_PRESSURE_KPA)
        if weather.vapour_pressure_kpa == 0:
            raise ValueError("vapour_pressure_kpa must be above 0")
    if weather.wind_ms is not None:
        _check_range("wind_ms", weather.wind_ms, WIND_MS)
    _check_range("wind_height_m", weather.wind_height_m, WIND_HEIGHT_M)
    if weather.solar_mj_m2 is not None:
        _check_range("solar_mj_m2 (MJ m-2 day-1, not W/m2)", weather.solar_mj_m2, SOLAR_MJ_M2)
    if weather.sunshine_h is not None:
        limit = daylight_hours(latitude_deg, weather.day)
        _check_range("sunshine_h", weather.sunshine_h, (0.0, 24.0))
        if weather.sunshine_h > limit + 0.1:
            raise ValueError(f"sunshine_h ({weather.sunshine_h}) exceeds the day's {limit:.1f} daylight hours")
    _check_range("rain_mm", weather.rain_mm, (0.0, 2000.0))


def _check_range(name: str, value, bounds: tuple[float, float]) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name} = {value} is outside the plausible range {low}..{high}")
