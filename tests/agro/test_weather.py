"""The Open-Meteo client against a loopback stand-in for both Open-Meteo hosts (real HTTP on
127.0.0.1) that serves the recorded answers in tests/agro/data/open_meteo/ and, on demand,
failures: 5xx, a stall past the client's timeout, a truncated body, the documented 400 error
object. The real Open-Meteo is never called."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest

from backend.plugins.agro.weather import (DailyWeather, OpenMeteoClient, PlaceNotFound,
                                          WeatherUnavailable)
from tests.agro.fake_open_meteo import FakeOpenMeteo, recorded

pytestmark = pytest.mark.timeout(30)

CAJAMARCA = (-7.16, -78.51)
HUARAL = (-11.50, -77.21)
# Written out again here, not imported, so a wrong mapping in the module cannot pass unseen.
FIELDS = {"tmin_c": "temperature_2m_min", "tmax_c": "temperature_2m_max",
          "rh_mean": "relative_humidity_2m_mean", "wind_ms": "wind_speed_10m_mean",
          "solar_mj_m2": "shortwave_radiation_sum", "rain_mm": "precipitation_sum",
          "et0_mm": "et0_fao_evapotranspiration"}


@pytest.fixture
def server():
    fake = FakeOpenMeteo()
    yield fake
    fake.stop()


def make_client(server: FakeOpenMeteo, tmp_path: Path, **options) -> OpenMeteoClient:
    options = {"cache_path": tmp_path / "weather.db", "timeout_s": 2, "retry_backoff_s": 0.01, **options}
    return OpenMeteoClient(base_url=server.url, geocoding_url=server.url, **options)


# --- parsing the recorded answers -------------------------------------------------------------

@pytest.mark.parametrize("coordinates, name", [(CAJAMARCA, "forecast_cajamarca.json"),
                                                (HUARAL, "forecast_huaral.json")])
def test_recorded_forecasts_become_daily_weather(server, tmp_path, coordinates, name):
    expected = recorded(name)
    forecast = make_client(server, tmp_path).daily(*coordinates)

    assert (forecast.latitude, forecast.longitude) == (expected["latitude"], expected["longitude"])
    assert forecast.elevation_m == expected["elevation"]
    assert forecast.timezone == expected["timezone"] == "America/Lima"
    assert not forecast.from_cache and not forecast.stale
    assert abs(forecast.age_s()) < 60
    assert [day.day.isoformat() for day in forecast.days] == expected["daily"]["time"]
    assert len(forecast.days) == 14  # 7 past days, today and 6 ahead
    for field, variable in FIELDS.items():
        assert [getattr(day, field) for day in forecast.days] == expected["daily"][variable], field
    assert all(isinstance(day, DailyWeather) for day in forecast.days)


def test_the_andes_and_the_coast_differ_as_they_should(server, tmp_path):
    client = make_client(server, tmp_path)
    andes, coast = client.daily(*CAJAMARCA), client.daily(*HUARAL)
    assert andes.elevation_m > 2000 > 500 > coast.elevation_m
    assert max(d.tmin_c for d in andes.days) < min(d.tmin_c for d in coast.days)


def test_the_query_is_the_documented_one(server, tmp_path):
    make_client(server, tmp_path).daily(-7.16378, -78.50027, past_days=5, forecast_days=3)
    path, query = server.requests[0]
    assert path == "/v1/forecast"
    assert query["latitude"] == "-7.16" and query["longitude"] == "-78.50"  # about 1 km
    assert query["daily"].split(",") == list(FIELDS.values())
    assert (query["past_days"], query["forecast_days"]) == ("5", "3")
    assert (query["timezone"], query["wind_speed_unit"]) == ("auto", "ms")


def test_nulls_become_none(server, tmp_path):
    body = recorded("forecast_huaral.json")
    body["daily"]["relative_humidity_2m_mean"][0] = None
    body["daily"]["et0_fao_evapotranspiration"][-1] = None
    del body["daily"]["wind_speed_10m_mean"]  # a variable left out entirely: all None
    server.forecast_body = body

    days = make_client(server, tmp_path).daily(*HUARAL).days
    assert days[0].rh_mean is None and days[1].rh_mean == body["daily"]["relative_humidity_2m_mean"][1]
    assert days[-1].et0_mm is None and days[0].et0_mm is not None
    assert all(day.wind_ms is None for day in days)


@pytest.mark.parametrize("change, message", [
    (lambda b: b["daily_units"].update(wind_speed_10m_mean="km/h"), "unexpected unit for wind_speed_10m_mean"),
    (lambda b: b["daily"]["precipitation_sum"].pop(), "precipitation_sum does not match daily.time"),
    (lambda b: b["daily"].pop("time"), "unexpected forecast shape"),
    (lambda b: b["daily"]["temperature_2m_max"].__setitem__(0, "hot"), "non-numbers"),
])
def test_answers_of_the_wrong_shape_are_refused(server, tmp_path, change, message):
    body = copy.deepcopy(recorded("forecast_cajamarca.json"))
    change(body)
    server.forecast_body = body
    with pytest.raises(WeatherUnavailable, match=message):
        make_client(server, tmp_path).daily(*CAJAMARCA)


# --- failures ---------------------------------------------------------------------------------

@pytest.mark.parametrize("script, message, attempts", [
    (["500", "500"], r"HTTP 500 \(2 attempts\)", 2),
    (["malformed"], "malformed JSON", 1),
    (["error400"], "HTTP 400: Latitude must be in range of -90 to 90", 1),  # 4xx: no retry
])
def test_failures_raise_weather_unavailable_saying_which(server, tmp_path, script, message, attempts):
    server.script = list(script)
    with pytest.raises(WeatherUnavailable, match=message):
        make_client(server, tmp_path).daily(*CAJAMARCA)
    assert server.count("/v1/forecast") == attempts


def test_a_stalled_server_times_out_after_one_retry(server, tmp_path):
    server.script = ["slow", "slow"]
    started = time.monotonic()
    with pytest.raises(WeatherUnavailable, match=r"timed out after 0.3 s \(2 attempts\)"):
        make_client(server, tmp_path, timeout_s=0.3).daily(*CAJAMARCA)
    assert time.monotonic() - started < 2.5
    assert server.count("/v1/forecast") == 2


def test_one_retry_gets_past_a_passing_5xx(server, tmp_path):
    server.script = ["500"]
    forecast = make_client(server, tmp_path).daily(*CAJAMARCA)
    assert len(forecast.days) == 14 and not forecast.from_cache
    assert server.count("/v1/forecast") == 2


def test_service_down_and_nothing_cached(server, tmp_path):
    server.stop()
    with pytest.raises(WeatherUnavailable, match="network unreachable"):
        make_client(server, tmp_path).daily(*CAJAMARCA)


# --- cache ------------------------------------------------------------------------------------

def test_a_cache_hit_within_the_ttl_makes_no_request(server, tmp_path):
    client = make_client(server, tmp_path)
    first = client.daily(*CAJAMARCA)
    again = client.daily(-7.1649, -78.5051)  # the same ~1 km cell
    reopened = make_client(server, tmp_path).daily(*CAJAMARCA)  # a restart keeps the file

    assert server.count("/v1/forecast") == 1
    for hit in (again, reopened):
        assert hit.from_cache and not hit.stale
        assert hit.days == first.days and hit.fetched_at == first.fetched_at

    client.daily(*CAJAMARCA, past_days=3)  # other days: another entry
    client.daily(*HUARAL)
    assert server.count("/v1/forecast") == 3


def test_both_sides_of_zero_round_to_one_entry(server, tmp_path):
    server.forecast_body = recorded("forecast_huaral.json")
    client = make_client(server, tmp_path)
    client.daily(-0.001, 0.004)
    assert client.daily(0.001, -0.004).from_cache
    assert server.requests[0][1]["latitude"] == "0.00" and server.count("/v1/forecast") == 1


def test_an_expired_entry_is_refreshed_when_the_service_answers(server, tmp_path):
    client = make_client(server, tmp_path, ttl_s=0)
    first = client.daily(*CAJAMARCA)
    second = client.daily(*CAJAMARCA)
    assert server.count("/v1/forecast") == 2
    assert not second.from_cache and second.fetched_at >= first.fetched_at


@pytest.mark.parametrize("outage", ["down", "500"])
def test_a_stale_forecast_stands_in_when_the_service_fails(server, tmp_path, outage):
    client = make_client(server, tmp_path, ttl_s=0)  # every entry already expired
    fresh = client.daily(*CAJAMARCA)
    if outage == "down":
        server.stop()
    else:
        server.script = ["500"] * 4  # two attempts for each call below

    stale = client.daily(*CAJAMARCA)
    assert stale.from_cache and stale.stale
    assert stale.days == fresh.days and stale.fetched_at == fresh.fetched_at
    assert stale.age_s() >= 0
    with pytest.raises(WeatherUnavailable):  # nothing cached for the coast
        client.daily(*HUARAL)


def test_without_a_cache_path_every_call_asks(server, tmp_path):
    client = make_client(server, tmp_path, cache_path=None)
    client.daily(*HUARAL)
    assert not client.daily(*HUARAL).from_cache
    assert server.count("/v1/forecast") == 2
    assert not (tmp_path / "weather.db").exists()


# --- arguments --------------------------------------------------------------------------------

@pytest.mark.parametrize("latitude, longitude", [
    (90.01, 0), (-91, 0), (0, 180.5), (0, -181), (float("nan"), 0), (0, float("inf")),
    ("-7.16", -78.51), (None, 0), (True, 0),
])
def test_coordinates_are_validated_before_any_request(server, tmp_path, latitude, longitude):
    with pytest.raises(ValueError):
        make_client(server, tmp_path).daily(latitude, longitude)
    assert server.requests == []


@pytest.mark.parametrize("past_days, forecast_days", [(-1, 7), (93, 7), (7, 17), (0, 0), (7.0, 7)])
def test_day_counts_are_validated(server, tmp_path, past_days, forecast_days):
    with pytest.raises(ValueError):
        make_client(server, tmp_path).daily(*CAJAMARCA, past_days=past_days, forecast_days=forecast_days)
    assert server.requests == []


def test_the_edges_of_the_world_are_accepted(server, tmp_path):
    server.forecast_body = recorded("forecast_huaral.json")
    make_client(server, tmp_path).daily(-90, 180)
    assert server.requests[0][1]["latitude"] == "-90.00"


# --- geocoding --------------------------------------------------------------------------------

def test_find_place_in_the_andes(server, tmp_path):
    best = recorded("geocoding_cajamarca.json")["results"][0]
    lat, lon, elevation, display = make_client(server, tmp_path).find_place("Cajamarca")
    assert (lat, lon, elevation) == (best["latitude"], best["longitude"], best["elevation"])
    assert display == "Cajamarca, Perú"  # the region's name is not said twice
    path, query = server.requests[0]
    assert path == "/v1/search"
    assert query == {"name": "Cajamarca", "count": "5", "language": "es", "countryCode": "PE", "format": "json"}


def test_find_place_on_the_coast(server, tmp_path):
    lat, lon, elevation, display = make_client(server, tmp_path).find_place(" huaral ")
    assert (round(lat, 2), round(lon, 2)) == HUARAL
    assert elevation is not None and elevation < 500
    assert display == "Huaral, Lima, Perú"


def test_a_place_without_elevation_still_has_coordinates(server, tmp_path, monkeypatch):
    body = recorded("geocoding_huaral.json")
    del body["results"][0]["elevation"]  # empty fields are left out of the answer
    monkeypatch.setattr(server, "_recorded", lambda path, query: (200, json.dumps(body).encode()))
    assert make_client(server, tmp_path).find_place("Huaral")[2] is None


def test_an_unknown_place(server, tmp_path):
    with pytest.raises(PlaceNotFound, match="no place named 'Chacrita Perdida' in PE"):
        make_client(server, tmp_path).find_place("Chacrita Perdida")
    with pytest.raises(PlaceNotFound):
        make_client(server, tmp_path).find_place(" x ")  # too short to ask
    assert server.count("/v1/search") == 1


def test_geocoding_down(server, tmp_path):
    server.script = ["500", "500"]
    with pytest.raises(WeatherUnavailable, match="HTTP 500"):
        make_client(server, tmp_path).find_place("Huaral")
