"""The community pest signal, run by the scheduler: recent pest reports (by chat or form) with
their plots' positions become outbreaks when several producers nearby report the same pest on the
same crop (pest_signal.py); neighbours growing that crop get one alert per outbreak, recorded in the
same transaction as the alert, so a re-run or a growing outbreak never alerts anyone twice."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


from backend.plugin_api import core, Database
from backend.plugins.agro import reports, store
from backend.plugins.agro.advice import locate, weather_client
from backend.plugins.agro.facts import producer_plots
from backend.plugins.agro.pest_signal import (PestReport, Producer, SignalSettings, alert_text, find_outbreaks,
                                              producers_to_alert)
from backend.plugins.agro.pests import find_pest
from chasqui.env import env_float, env_int

log = logging.getLogger(__name__)
JOB = "agro.pest_signal"  # as the scheduler names it: plug-in and job


def signal_settings() -> SignalSettings:
    return SignalSettings(min_reporters=env_int("AGRO_OUTBREAK_REPORTERS", 3, minimum=2),
                          radius_km=env_float("AGRO_OUTBREAK_RADIUS_KM", 10.0, minimum=0.1),
                          window_days=env_int("AGRO_OUTBREAK_DAYS", 5, minimum=1))


def pest_signal(db: Database, today: date | None = None) -> int:
    """Alerts created now."""
    today = today or datetime.now(ZoneInfo("America/Lima")).date()
    settings = signal_settings()
    place_plots(db)
    created = 0
    with core.transaction(db) as connection:
        plots = store.all_plots(connection)
        pest_reports = _pest_reports(connection, plots, today - timedelta(days=settings.window_days))
        producers = [Producer(p.contact_id, p.crop, p.latitude, p.longitude) for p in plots if p.latitude is not None]
        alerted = store.already_alerted(connection)
        for outbreak in find_outbreaks(pest_reports, today, settings):
            pest = find_pest(outbreak.pest)
            text = alert_text(outbreak, pest.name_es if pest else outbreak.pest)
            for producer in producers_to_alert(outbreak, producers, alerted, settings):
                with core.contained(db, JOB, producer.id, f"alert on {outbreak.key}", connection):
                    if store.record_alerted(connection, outbreak.key, producer.id):
                        core.add_alert(connection, producer.id, text, "alta")
                        alerted.add((outbreak.key, producer.id))
                        created += 1
    if created:
        log.info("pest outbreak alerts", extra={"alerts": created})
    return created


def place_plots(db: Database) -> None:
    """Every producer's first plot exists and is on the map: a neighbour who never asked anything
    must still be alerted. The geocoder is called outside any transaction (it is the network)."""
    client = weather_client(core.database_folder(db))
    for contact in core.contacts(db, "agro"):  # settled: onboarding done
        with core.contained(db, JOB, contact.id, "placing the plots on the map"):
            for plot in producer_plots(db, contact):
                locate(db, plot, client)


def _pest_reports(connection, plots: list[store.Plot], since: date) -> list[PestReport]:
    """Each report placed at its plot (named, else the producer's first); unplaced ones are skipped."""
    by_contact: dict[int, list[store.Plot]] = {}
    for plot in sorted(plots, key=lambda p: p.id):
        by_contact.setdefault(plot.contact_id, []).append(plot)
    found = []
    for contact_id, data in reports.reports(connection, "plaga", since=since):
        plot = next((p for i, p in enumerate(by_contact.get(contact_id, []))
                     if reports.for_plot(data, p.name, i == 0)), None)
        pest = find_pest(data["plaga"])
        if plot is None or plot.latitude is None or pest is None:
            continue
        found.append(PestReport(contact_id, pest.key, plot.crop, plot.latitude, plot.longitude,
                                date.fromisoformat(data["fecha"])))
    return found
