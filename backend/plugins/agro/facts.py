"""What the model is told about a producer: for each plot, the crop's stage and the next
irrigation (date, depth in mm, hours) from the water balance, and what the data rest on. The
model phrases these; "¿Cuándo riego?" is answered from `proximo_riego`, never guessed."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlite_utils

from backend.contacts import Contact, save_profile
from backend.plugins.agro import store
from backend.plugins.agro.advice import PlotAdvice, plot_advice, weather_client
from backend.plugins.agro.crops import lookup_crop
from backend.spanish import day_name



def agro_facts(db: sqlite_utils.Database, contact: Contact, today: date | None = None) -> dict:
    today = today or contact.local_today()
    connection = db.conn
    plots = producer_plots(db, contact)
    client = weather_client(Path(db_path(db)).parent)
    lotes = [describe(plot_advice(connection, plot, index == 0, today, client), today)
             for index, plot in enumerate(plots)]
    return {"hoy": day_name(today), "lotes": lotes}


def producer_plots(db: sqlite_utils.Database, contact: Contact) -> list[store.Plot]:
    """The producer's plots. The one the onboarding answers describe ("lote 1") is created the
    first time any is needed; its place also becomes the producer's region, for alerts to a region."""
    plots = store.plots(db.conn, contact.id)
    if plots or "cultivo" not in contact.profile or "fecha_siembra" not in contact.profile:
        return plots
    store.save_plot(db.conn, contact.id, "lote 1", contact.profile)
    place = (contact.profile.get("ubicacion") or {}).get("place")
    if place and "region" not in contact.profile:
        save_profile(db, contact, {"region": place})
    return store.plots(db.conn, contact.id)


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
        facts["lamina_mm"] = round(advice.depth_mm)
        if advice.hours is not None:
            facts["horas_de_riego"] = round(advice.hours, 1)
    facts["agua_disponible"] = f"{round(max(advice.taw_mm - advice.depletion_mm, 0))} de {round(advice.taw_mm)} mm"
    return facts


def db_path(db: sqlite_utils.Database) -> str:
    return db.execute("PRAGMA database_list").fetchone()[2]
