"""A Garmin activities CSV into a runner's log: parsed and validated (garmin_csv), runs already
stored skipped, fitness re-estimated, all in one transaction. Used by the endpoint and the admin
page alike."""
from __future__ import annotations

from datetime import date


from backend.plugin_api import Contact, core, Database
from backend.plugins.running import coach, store
from backend.plugins.running.garmin_csv import parse_activities

MAX_FILE_BYTES = 5 * 1024 * 1024


def import_garmin(db: Database, contact: Contact, data: bytes, today: date) -> dict:
    """{"imported", "duplicates", "refused": [{"line", "reason"}], "summary_es"}; raises
    garmin_csv.CsvFormatError (nothing saved) when the file is not a Garmin export."""
    report = parse_activities(data, today)
    with core.transaction(db) as connection:
        imported = sum(store.save_run(connection, contact.id, run) for run in report.runs)
        if imported:
            coach.update_fitness(connection, contact, today)
    duplicates = len(report.runs) - imported
    summary = report.summary_es()
    if duplicates:
        summary += f" {duplicates} ya estaban registradas y no se repitieron."
    return {"imported": imported, "duplicates": duplicates,
            "refused": [{"line": line, "reason": reason} for line, reason in report.refused],
            "summary_es": summary}
