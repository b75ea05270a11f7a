"""What the model is told about a producer: for each plot, the crop's stage and the next
irrigation (date, depth in mm, hours) from the water balance, and what the data rest on. The
model phrases these; "¿Cuándo riego?" is answered from `proximo_riego`, never guessed."""
from __future__ import annotations

from datetime import date


from backend.plugin_api import Contact, core, Database
from backend.plugins.agro import reports, store
from backend.plugins.agro.advice import FORECAST_DAYS, HISTORY_DAYS, PlotAdvice, plot_advice, weather_client
from backend.plugins.agro.weather import OpenMeteoClient, WeatherUnavailable
from backend.plugins.agro.crops import lookup_crop
from backend.spanish import day_name, decimal



def agro_facts(db: Database, contact: Contact, today: date | None = None) -> dict:
    today = today or contact.local_today()
    connection = db
    plots = producer_plots(db, contact)
    client = weather_client(core.database_folder(db))
    advised = [plot_advice(connection, plot, index == 0, today, client) for index, plot in enumerate(plots)]
    facts = {"hoy": day_name(today), "lotes": [describe(result, today) for result in advised]}
    if advised:
        facts["pronostico"] = outlook(advised, today, client)
    facts.update(_last_reports(connection, contact, today))
    return facts


def outlook(advised: list[PlotAdvice], today: date, client: OpenMeteoClient) -> dict | str:
    """The coming days' rain and lowest temperatures where the first located plot is (the forecast
    the water balance already fetched: read from its cache), or why there is none."""
    located = next((result.plot for result in advised if result.plot.latitude is not None), None)
    if located is None:
        return "sin la ubicación del lote"
    try:
        forecast = client.daily(located.latitude, located.longitude, past_days=HISTORY_DAYS,
                                forecast_days=FORECAST_DAYS)
    except WeatherUnavailable:
        return "sin datos del servicio del clima ahora"
    return {"lugar": located.place or located.name,
            "dias": [(day.day.isoformat(), day.rain_mm, day.tmin_c) for day in forecast.days if day.day >= today]}


def _last_reports(connection, contact: Contact, today: date) -> dict:
    """The latest irrigation and rain the producer reported (by chat or form), as read back."""
    found = {}
    for form, key in (("riego", "ultimo_riego"), ("lluvia", "ultima_lluvia")):
        rows = [data for _, data in reports.reports(connection, form, contact.id) if data.get("fecha")]
        if not rows:
            continue
        last = max(rows, key=lambda data: data["fecha"])
        day = date.fromisoformat(last["fecha"])
        amount = f"{decimal(last['mm'])} mm" if last.get("mm") else f"{decimal(last.get('horas', 0))} horas"
        where = f" en el {last['lote']}" if last.get("lote") else ""
        found[key] = f"{amount}{where} el {day_name(day)} (hace {(today - day).days} días)"
    return found


def producer_plots(db: Database, contact: Contact) -> list[store.Plot]:
    """The producer's plots. The one the onboarding answers describe ("lote 1") is created the
    first time any is needed; its place also becomes the producer's region, for alerts to a region."""
    plots = store.plots(db, contact.id)
    if plots or "cultivo" not in contact.profile or "fecha_siembra" not in contact.profile:
        return plots
    store.save_plot(db, contact.id, "lote 1", contact.profile)
    place = (contact.profile.get("ubicacion") or {}).get("place")
    if place and "region" not in contact.profile:
        core.save_profile(db, contact, {"region": place})
    return store.plots(db, contact.id)


def describe(result: PlotAdvice, today: date) -> dict:
    plot, advice = result.plot, result.advice
    crop = lookup_crop(plot.crop)
    facts = {"lote": plot.name, "cultivo": crop.name_es, "dias_desde_siembra": (today - plot.planting_date).days,
             "datos": result.note}
    if advice is None:
        facts["riego"] = result.note
        return facts
    facts["etapa"] = crop.stage((today - plot.planting_date).days)
    if advice.next_irrigation is None:
        facts["proximo_riego"] = "no hace falta regar en los próximos días"
    else:
        facts["proximo_riego"] = "hoy" if advice.next_irrigation <= today else day_name(advice.next_irrigation)
        facts["dias_para_riego"] = max((advice.next_irrigation - today).days, 0)
        facts["lamina_mm"] = round(advice.depth_mm)
        if advice.hours is not None:
            facts["horas_de_riego"] = round(advice.hours, 1)
    facts["agua_disponible"] = f"{round(max(advice.taw_mm - advice.depletion_mm, 0))} de {round(advice.taw_mm)} mm"
    return facts
