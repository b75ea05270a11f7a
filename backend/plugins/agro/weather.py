"""Daily weather for the irrigation advice, from Open-Meteo (free, keyless), with an SQLite cache
so a farm asking twice in an afternoon costs one request, and a stale forecast is still served
when the service (or the village's link) is down.

What this relies on, from Open-Meteo's documentation pages:

* "Weather Forecast API" (https://open-meteo.com/en/docs), section "API Documentation":
  GET /v1/forecast with latitude, longitude; `daily` (comma separated; needs `timezone`, and
  `timezone=auto` resolves it from the coordinates); `past_days` (0-92); `forecast_days` (0-16);
  `wind_speed_unit` (kmh by default, `ms` for m/s). Section "Daily Parameter Definition": daily
  aggregates of hourly values; temperature_2m_max/min in °C, precipitation_sum in mm,
  shortwave_radiation_sum in MJ/m², et0_fao_evapotranspiration in mm (FAO-56 Penman-Monteith
  ET0 of a well watered grass field). relative_humidity_2m_mean and wind_speed_10m_mean are
  daily aggregations the forecast API also accepts (its ForecastVariableDaily list).
  Section "JSON Return Object": latitude/longitude of the grid cell used (may be km away),
  elevation (90 m elevation model), generationtime_ms, utc_offset_seconds, timezone,
  timezone_abbreviation, `daily` = {"time": ["YYYY-MM-DD", ...], <variable>: [number|null, ...]},
  `daily_units` = {<variable>: unit}. Section "Errors": HTTP 400 with
  {"error": true, "reason": "..."}.
* "Geocoding API" (https://open-meteo.com/en/docs/geocoding-api): GET /v1/search with name,
  count, language, countryCode; answers {"results": [{"id", "name", "latitude", "longitude",
  "elevation", "feature_code", "country_code", "country", "admin1", ..., "timezone",
  "population"}], "generationtime_ms"}; empty fields are left out, so no match means no
  "results" key. Errors as above.
"""
from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from numbers import Real
from pathlib import Path
from urllib.parse import urlencode

import requests

log = logging.getLogger(__name__)

FORECAST_PATH = "/v1/forecast"
GEOCODING_PATH = "/v1/search"

# DailyWeather field -> Open-Meteo daily variable. Mean wind (not max) because FAO-56 wants the
# day's mean; both means are in the forecast API's daily list.
DAILY_VARIABLES = {
    "tmin_c": "temperature_2m_min",
    "tmax_c": "temperature_2m_max",
    "rh_mean": "relative_humidity_2m_mean",
    "wind_ms": "wind_speed_10m_mean",
    "solar_mj_m2": "shortwave_radiation_sum",
    "rain_mm": "precipitation_sum",
    "et0_mm": "et0_fao_evapotranspiration",
}
# Units we choose through URL parameters: a silent km/h or inch would skew every ET0.
EXPECTED_UNITS = {
    "temperature_2m_min": "°C",
    "temperature_2m_max": "°C",
    "wind_speed_10m_mean": "m/s",
    "precipitation_sum": "mm",
    "et0_fao_evapotranspiration": "mm",
}
MAX_PAST_DAYS = 92  # documented ranges
MAX_FORECAST_DAYS = 16
# An older forecast is no advice at all: not served even as a last resort, and pruned.
MAX_STALE_S = 7 * 24 * 3600
USER_AGENT = "chasqui-agro/0.1 (irrigation advice; self-hosted)"


@dataclass(frozen=True)
class DailyWeather:
    day: date
    tmin_c: float | None
    tmax_c: float | None
    rh_mean: float | None  # %
    wind_ms: float | None  # daily mean at 10 m above ground, as Open-Meteo gives it (not 2 m)
    solar_mj_m2: float | None  # shortwave radiation, daily sum
    rain_mm: float | None  # precipitation sum (rain, showers, snow)
    et0_mm: float | None  # Open-Meteo's own FAO-56 ET0, for cross-checks


@dataclass(frozen=True)
class Forecast:
    latitude: float  # of the model's grid cell, not necessarily the farm
    longitude: float
    elevation_m: float
    timezone: str
    days: list[DailyWeather]
    fetched_at: float  # epoch seconds of the download (the original one when from cache)
    from_cache: bool
    stale: bool = False  # served from an expired cache entry because Open-Meteo could not answer

    def age_s(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at


class WeatherUnavailable(RuntimeError):
    """Open-Meteo could not be reached or answered something unusable (and no cache could stand
    in): network down, timeout, HTTP error, malformed JSON. The message says which."""


class PlaceNotFound(ValueError):
    """The geocoding API knows no place by that name (in that country)."""


class OpenMeteoClient:
    def __init__(self, base_url: str = "https://api.open-meteo.com",
                 geocoding_url: str = "https://geocoding-api.open-meteo.com",
                 cache_path: Path | None = None, ttl_s: float = 3 * 3600, timeout_s: float = 10,
                 session: requests.Session | None = None, retry_backoff_s: float = 0.5):
        self._forecast_url = base_url.rstrip("/") + FORECAST_PATH
        self._geocoding_url = geocoding_url.rstrip("/") + GEOCODING_PATH
        self._cache = _Cache(Path(cache_path)) if cache_path is not None else None
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._session = session or requests.Session()
        self._retry_backoff_s = retry_backoff_s

    def daily(self, latitude: float, longitude: float, past_days: int = 7,
              forecast_days: int = 7) -> Forecast:
        """Daily weather from `past_days` ago to `forecast_days` ahead (today included), in the
        place's local dates. Raises ValueError for bad arguments, WeatherUnavailable when neither
        Open-Meteo nor the cache can answer."""
        params = forecast_params(latitude, longitude, past_days, forecast_days)
        key = f"{self._forecast_url}?{urlencode(params)}"
        cached = self._cache.get(key) if self._cache else None
        if cached and time.time() - cached[1] < self._ttl_s:
            return _parse_forecast(cached[0], cached[1], from_cache=True)
        try:
            payload = self._get_json(self._forecast_url, params)
            forecast = _parse_forecast(payload, time.time(), from_cache=False)
        except WeatherUnavailable as problem:
            if not cached:
                raise
            # hours-old weather beats none for irrigation; callers see stale=True and age_s()
            log.warning("serving a stale forecast (%.0f s old): %s", time.time() - cached[1], problem)
            return _parse_forecast(cached[0], cached[1], from_cache=True, stale=True)
        if self._cache:
            self._cache.put(key, payload, forecast.fetched_at)
        return forecast

    def find_place(self, name: str, country_code: str = "PE") -> tuple[float, float, float | None, str]:
        """(latitude, longitude, elevation in m or None when the gazetteer has none, display
        name) of the best match, e.g. "Huaral, Lima, Perú". Raises PlaceNotFound,
        WeatherUnavailable."""
        name = (name or "").strip()
        if len(name) < 2:  # the API answers nothing for 0-1 characters anyway
            raise PlaceNotFound(f"place name too short: {name!r}")
        params = {"name": name, "count": 5, "language": "es", "format": "json"}
        if country_code:
            params["countryCode"] = country_code.upper()
        payload = self._get_json(self._geocoding_url, params)
        return _best_place(payload, name, country_code)

    def _get_json(self, url: str, params: dict) -> dict:
        """The decoded JSON object; one retry, after a short pause, on timeouts, refused
        connections and 5xx (transient on a rural link), none on 4xx or bad bodies."""
        problem, cause = "", None
        for attempt in (1, 2):
            if attempt == 2:
                time.sleep(self._retry_backoff_s)
            try:
                response = self._session.get(url, params=params, timeout=self._timeout_s,
                                             headers={"Accept": "application/json", "User-Agent": USER_AGENT})
            except requests.Timeout as exc:  # ConnectTimeout included
                problem, cause = f"timed out after {self._timeout_s:g} s", exc
                continue
            except requests.ConnectionError as exc:
                problem, cause = f"network unreachable ({_short(exc)})", exc
                continue
            except requests.RequestException as exc:
                raise WeatherUnavailable(f"{url}: request failed ({_short(exc)})") from exc
            if response.status_code >= 500:
                problem, cause = f"HTTP {response.status_code}{_reason(response)}", None
                continue
            return _decode(url, response)
        raise WeatherUnavailable(f"{url}: {problem} (2 attempts)") from cause


def forecast_params(latitude: float, longitude: float, past_days: int = 7, forecast_days: int = 7) -> dict:
    """The /v1/forecast query, validated. Coordinates rounded to 2 decimals (about 1 km) so that
    what is asked is exactly what the cache key says; the recording script uses this too."""
    lat = _coordinate(latitude, "latitude", 90)
    lon = _coordinate(longitude, "longitude", 180)
    past = _day_count(past_days, "past_days", MAX_PAST_DAYS)
    ahead = _day_count(forecast_days, "forecast_days", MAX_FORECAST_DAYS)
    if past + ahead == 0:
        raise ValueError("past_days and forecast_days are both 0: no day to ask for")
    return {"latitude": f"{lat:.2f}", "longitude": f"{lon:.2f}", "daily": ",".join(DAILY_VARIABLES.values()),
            "past_days": past, "forecast_days": ahead, "timezone": "auto", "wind_speed_unit": "ms"}


def _coordinate(value, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not -limit <= value <= limit:
        raise ValueError(f"{name} {value} outside -{limit}..{limit}")
    return round(float(value), 2) + 0.0  # + 0.0: -0.00 and 0.00 are one cache key


def _day_count(value, name: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValueError(f"{name} must be an integer in 0..{limit}, got {value!r}")
    return value


def _decode(url: str, response: requests.Response) -> dict:
    if response.status_code != 200:
        raise WeatherUnavailable(f"{url}: HTTP {response.status_code}{_reason(response)}")
    try:
        payload = response.json()
    except ValueError as exc:
        raise WeatherUnavailable(f"{url}: malformed JSON ({_short(exc)})") from exc
    if not isinstance(payload, dict):
        raise WeatherUnavailable(f"{url}: malformed JSON (expected an object, got {type(payload).__name__})")
    if payload.get("error"):  # documented for HTTP 400; guarded on 200 too
        raise WeatherUnavailable(f"{url}: Open-Meteo error: {payload.get('reason') or 'no reason given'}")
    return payload


def _reason(response: requests.Response) -> str:
    """': <reason>' from Open-Meteo's documented error object, when the body is one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    reason = body.get("reason") if isinstance(body, dict) else None
    return f": {reason}" if reason else ""


def _short(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _parse_forecast(payload: dict, fetched_at: float, from_cache: bool, stale: bool = False) -> Forecast:
    try:
        daily = payload["daily"]
        days = [date.fromisoformat(text) for text in daily["time"]]
        latitude, longitude = float(payload["latitude"]), float(payload["longitude"])
        elevation = float(payload["elevation"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeatherUnavailable(f"unexpected forecast shape ({exc.__class__.__name__}: {_short(exc)})") from exc
    _check_units(payload.get("daily_units") or {})
    columns = {field: _column(daily, variable, len(days)) for field, variable in DAILY_VARIABLES.items()}
    rows = [DailyWeather(day=day, **{field: values[i] for field, values in columns.items()})
            for i, day in enumerate(days)]
    return Forecast(latitude=latitude, longitude=longitude, elevation_m=elevation,
                    timezone=str(payload.get("timezone") or ""), days=rows, fetched_at=fetched_at,
                    from_cache=from_cache, stale=stale)


def _column(daily: dict, variable: str, length: int) -> list[float | None]:
    """One variable's values, null -> None. A variable left out of the answer is all None (the
    caller falls back, e.g. ET0 without humidity) rather than the whole forecast lost."""
    values = daily.get(variable)
    if values is None:
        return [None] * length
    if not isinstance(values, list) or len(values) != length:
        raise WeatherUnavailable(f"unexpected forecast shape: {variable} does not match daily.time")
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, Real)) for v in values):
        raise WeatherUnavailable(f"unexpected forecast shape: {variable} holds non-numbers")
    return [None if v is None else float(v) for v in values]


def _check_units(units: dict) -> None:
    for variable, expected in EXPECTED_UNITS.items():
        unit = units.get(variable)
        if unit is not None and unit != expected:
            raise WeatherUnavailable(f"unexpected unit for {variable}: {unit!r}, expected {expected!r}")


def _best_place(payload: dict, name: str, country_code: str) -> tuple[float, float, float | None, str]:
    """The first result (the API ranks them) that has coordinates."""
    for place in payload.get("results") or []:
        lat, lon = place.get("latitude"), place.get("longitude")
        if isinstance(lat, Real) and isinstance(lon, Real):
            elevation = place.get("elevation")
            return (float(lat), float(lon), float(elevation) if isinstance(elevation, Real) else None,
                    _display_name(place))
    where = f" in {country_code.upper()}" if country_code else ""
    raise PlaceNotFound(f"no place named {name!r}{where}")


def _display_name(place: dict) -> str:
    parts: list[str] = []
    for part in (place.get("name"), place.get("admin1"), place.get("country")):
        if part and part not in parts:  # "Cajamarca, Cajamarca" says nothing twice
            parts.append(part)
    return ", ".join(parts)


class _Cache:
    """Raw forecast answers (JSON as received) by request; stdlib sqlite3, one short connection
    per call, so any thread or process may share the file (SQLite locks it). A broken cache file
    only costs requests: its errors are logged, never raised.

    It stays a local SQLite file even when the backend's database is PostgreSQL: it holds only
    copies of public HTTP answers, each machine may keep its own (core.database_folder: the
    database's folder, or CHASQUI_HOME), and losing it costs requests, never data."""

    def __init__(self, path: Path):
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run("CREATE TABLE IF NOT EXISTS open_meteo_cache "
                  "(key TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at REAL NOT NULL)")

    def get(self, key: str) -> tuple[dict, float] | None:
        rows = self._run("SELECT body, fetched_at FROM open_meteo_cache WHERE key = ? AND fetched_at > ?",
                         (key, time.time() - MAX_STALE_S))
        if not rows:
            return None
        try:
            return json.loads(rows[0][0]), rows[0][1]
        except ValueError:
            return None

    def put(self, key: str, payload: dict, fetched_at: float) -> None:
        self._run("INSERT OR REPLACE INTO open_meteo_cache (key, body, fetched_at) VALUES (?, ?, ?)",
                  (key, json.dumps(payload, ensure_ascii=False), fetched_at))
        self._run("DELETE FROM open_meteo_cache WHERE fetched_at <= ?", (time.time() - MAX_STALE_S,))

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            with closing(sqlite3.connect(self._path, timeout=5)) as connection, connection:
                return connection.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            log.warning("weather cache %s: %s", self._path, exc)
            return []
