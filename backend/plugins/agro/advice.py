"""'¿Cuándo riego?' for one plot: the weather (Open-Meteo, cached), the producer's own rain gauge
and irrigation reports, the crop's coefficient curve and the soil, through the FAO-56 root-zone
water balance (water_balance.py). Nothing here is guessed by the model: it only phrases the
result.

Without weather data the balance still runs, on a conservative reference ET0 and the producer's
own rain reports, and says so (`assumptions`)."""
from __future__ import annotations

import logging
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from backend.plugins.agro import reports, store
from backend.plugins.agro.crops import lookup_crop
from backend.plugins.agro.et0 import DayWeather, reference_et0
from backend.plugins.agro.soils import lookup_soil
from backend.plugins.agro.water_balance import Advice, DayInput, FieldSetup, advise
from backend.plugins.agro.weather import OpenMeteoClient, PlaceNotFound, WeatherUnavailable
from chasqui.env import env_str
from backend.plugin_api import Database

log = logging.getLogger(__name__)

HISTORY_DAYS = 14
FORECAST_DAYS = 7
FALLBACK_ET0_MM = 4.5  # no weather: a high-side daily ET0 for the coast and the inter-Andean valleys
# mm/h when the producer does not know the rate of their method (typical values; FAO-56 ch. 8, FAO
# Irrigation Manual): hours of irrigation become millimetres with these.
TYPICAL_RATE_MM_H = {"goteo": 2.0, "aspersion": 8.0, "gravedad": 20.0}


@dataclass(frozen=True)
class PlotAdvice:
    plot: store.Plot
    advice: Advice | None  # None when the plot cannot be advised (harvested, not yet planted)
    note: str  # why not, or which data the advice rests on


def weather_client(cache_dir: Path) -> OpenMeteoClient:
    return _client(cache_dir, env_str("AGRO_OPEN_METEO_URL", "https://api.open-meteo.com"),
                   env_str("AGRO_GEOCODING_URL", "https://geocoding-api.open-meteo.com"))


@lru_cache(maxsize=8)
def _client(cache_dir: Path, base_url: str, geocoding_url: str) -> OpenMeteoClient:
    """One client (HTTP session, cache file) per database and service, not one per message."""
    return OpenMeteoClient(base_url=base_url, geocoding_url=geocoding_url, cache_path=cache_dir / "open_meteo_cache.db")


def plot_advice(connection: Database, plot: store.Plot, first_plot: bool, today: date,
                client: OpenMeteoClient) -> PlotAdvice:
    if plot.harvested_on is not None:
        return PlotAdvice(plot, None, f"cosechado el {plot.harvested_on.isoformat()}")
    if plot.method == "secano":
        return PlotAdvice(plot, None, "cultivo de secano: depende de la lluvia")
    plot = locate(connection, plot, client)
    history, forecast, note = _weather(plot, today, client)
    # one pass over the reports for both: today's (in the forecast) count as the past days' do
    days = _with_reports(connection, plot, first_plot, history + forecast, today)
    history, forecast = days[:len(history)], days[len(history):]
    setup = FieldSetup(crop=lookup_crop(plot.crop), planting_date=plot.planting_date, soil=lookup_soil(plot.soil),
                       irrigation_rate_mm_h=plot.rate_mm_h)
    return PlotAdvice(plot, advise(setup, history, forecast, today), note)


def locate(connection, plot: store.Plot, client: OpenMeteoClient) -> store.Plot:
    """A plot known by a place name gets its coordinates once, from the geocoder."""
    if plot.latitude is not None or not plot.place:
        return plot
    try:
        latitude, longitude, elevation, _ = client.find_place(plot.place)
    except (PlaceNotFound, WeatherUnavailable) as problem:
        log.info("plot not located", extra={"plot": plot.id, "error": str(problem)})
        return plot
    store.set_coordinates(connection, plot.id, latitude, longitude, elevation)
    return store.Plot(**{**plot.__dict__, "latitude": latitude, "longitude": longitude, "elevation_m": elevation})


def _weather(plot: store.Plot, today: date, client: OpenMeteoClient) -> tuple[list[DayInput], list[DayInput], str]:
    if plot.latitude is None:
        return _fallback(today, "sin ubicación del lote: ET0 estimada")
    try:
        forecast = client.daily(plot.latitude, plot.longitude, past_days=HISTORY_DAYS, forecast_days=FORECAST_DAYS)
    except WeatherUnavailable as problem:
        log.warning("no weather data", extra={"plot": plot.id, "error": str(problem)})
        return _fallback(today, "sin datos del clima: ET0 estimada")
    elevation = plot.elevation_m if plot.elevation_m is not None else forecast.elevation_m
    days = [DayInput(d.day, _et0(d, plot.latitude, elevation), d.rain_mm or 0.0) for d in forecast.days]
    note = "clima de Open-Meteo" + (" (guardado)" if forecast.from_cache else "")
    return [d for d in days if d.day < today], [d for d in days if d.day >= today], note


@lru_cache(maxsize=4096)
def _et0(day, latitude: float, elevation_m: float) -> float:
    """Cached: a forecast is kept for hours and asked about by every message (pyet takes ~14 ms a day)."""
    weather = DayWeather(day=day.day, tmin_c=day.tmin_c, tmax_c=day.tmax_c, rh_mean=day.rh_mean, wind_ms=day.wind_ms,
                         wind_height_m=10.0, solar_mj_m2=day.solar_mj_m2, rain_mm=day.rain_mm or 0.0)
    try:
        return reference_et0(weather, latitude, elevation_m)[0]
    except ValueError:  # a day with missing temperatures: Open-Meteo's own FAO ET0, else the fallback
        return day.et0_mm if day.et0_mm is not None else FALLBACK_ET0_MM


def _fallback(today: date, note: str) -> tuple[list[DayInput], list[DayInput], str]:
    history = [DayInput(today - timedelta(days=n), FALLBACK_ET0_MM) for n in range(HISTORY_DAYS, 0, -1)]
    forecast = [DayInput(today + timedelta(days=n), FALLBACK_ET0_MM) for n in range(FORECAST_DAYS)]
    return history, forecast, note


def _with_reports(connection, plot: store.Plot, first_plot: bool, days: list[DayInput],
                  today: date) -> list[DayInput]:
    """The producer's rain gauge replaces the weather service's rain on that day; irrigation
    reports add water. Reports older than the history window are past the balance's start."""
    since = today - timedelta(days=HISTORY_DAYS)
    rain = {d["fecha"]: d["mm"] for _, d in reports.reports(connection, "lluvia", plot.contact_id, since)}
    irrigation: dict[str, float] = {}
    for _, data in reports.reports(connection, "riego", plot.contact_id, since):
        if reports.for_plot(data, plot.name, first_plot):
            irrigation[data["fecha"]] = irrigation.get(data["fecha"], 0.0) + irrigation_mm(data, plot)
    return [DayInput(d.day, d.et0_mm, rain.get(d.day.isoformat(), d.rain_mm),
                     d.irrigation_mm + irrigation.get(d.day.isoformat(), 0.0)) for d in days]


def irrigation_mm(data: dict, plot: store.Plot) -> float:
    if data.get("mm"):
        return float(data["mm"])
    rate = plot.rate_mm_h or TYPICAL_RATE_MM_H.get(plot.method, TYPICAL_RATE_MM_H["gravedad"])
    return float(data["horas"]) * rate
