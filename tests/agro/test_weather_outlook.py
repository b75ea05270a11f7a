"""«¿Va a llover mañana?», «¿va a helar esta semana?»: answered by code from the forecast the water
balance already fetched (the loopback Open-Meteo), with the figures of that forecast, no model call."""
from __future__ import annotations

from datetime import timedelta

from backend.spanish import day_name
from tests.agro.conftest import PHONE, lima_today, onboard
from tests.agro.fake_open_meteo import recorded


def forecast_with(weather, rain_tomorrow: float, low_in_two_days: float) -> None:
    body = weather._aligned(recorded("forecast_huaral.json"), 7)
    daily, today = body["daily"], lima_today().isoformat()
    start = daily["time"].index(today)
    for offset in range(start, len(daily["time"])):
        daily["precipitation_sum"][offset] = 0.0
        daily["temperature_2m_min"][offset] = 14.0
    daily["precipitation_sum"][start + 1] = rain_tomorrow
    daily["temperature_2m_min"][start + 2] = low_in_two_days
    weather.forecast_body = body


def test_rain_and_frost_ahead_come_from_the_forecast(farm, weather, model):
    forecast_with(weather, rain_tomorrow=12.4, low_in_two_days=1.2)
    onboard(farm)
    reply = farm.say(PHONE, "va a llover mañana?")
    text = reply["model_output"]["respuesta_chat"]
    in_two_days = day_name(lima_today() + timedelta(days=2))
    assert reply["source"] == "code" and text.startswith("Pronóstico para Huaral (hoy, mañana y pasado")
    assert "lluvia mañana 12,4 mm" in text
    assert f"Riesgo de helada el {in_two_days} (mínima de 1,2 °C)" in text
    week = farm.say(PHONE, "habra heladas esta semana?")["model_output"]["respuesta_chat"]
    assert "los próximos 7 días" in week and "Riesgo de helada" in week
    assert model.requests == [] and model.classify_requests == []


def test_a_warm_dry_forecast_says_so(farm, weather, model):
    forecast_with(weather, rain_tomorrow=0.0, low_in_two_days=9.0)
    onboard(farm)
    text = farm.say(PHONE, "¿va a helar?")["model_output"]["respuesta_chat"]
    assert "sin lluvia" in text and "Mínimas de 9 a 14 °C: sin riesgo de helada" in text


def test_without_the_plots_place_it_says_what_it_needs(farm, weather, model):
    onboard(farm, answers=["Hola", "maíz en un sitio que no existe, 1 ha, sembré hace 2 meses, goteo 4 mm/h"])
    text = farm.say(PHONE, "va a llover mañana?")["model_output"]["respuesta_chat"]
    assert "No tengo el pronóstico para tu chacra (sin la ubicación del lote)" in text and "distrito" in text
