"""The coach's calendar (weekly refresh on Sunday 23:00 local, progress card every 14 days), each
changing nothing when run twice, and the Garmin CSV import through the endpoint and the admin."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from backend.contacts import find_contact
from backend.plugins.running import jobs
from tests.backend.conftest import AUTH
from tests.running.conftest import PHONE, onboard

DATA = Path(__file__).parent / "data"
LIMA = ZoneInfo("America/Lima")


def alerts(backend) -> list[tuple]:
    return backend.db.execute("SELECT message, level, image IS NOT NULL FROM alerts ORDER BY id").fetchall()


def age_contact(backend, days: int) -> None:
    """As if the runner had joined `days` ago (the weekly refresh skips weeks before they joined)."""
    backend.db.execute("UPDATE contacts SET created_at = created_at - ?", (days * 86400,))


def test_the_weekly_refresh_runs_once_on_sunday_night_and_counts_planned_runs_as_done(coach):
    onboard(coach)
    age_contact(coach, 14)
    coach.say(PHONE, "¿Qué me toca hoy?")  # the first plan
    runner = find_contact(coach.db, PHONE)
    today = datetime.now(LIMA).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7)
    before = datetime.combine(sunday, datetime.min.time(), LIMA).replace(hour=22, minute=59)
    assert jobs.refresh_due(before) == sunday - timedelta(days=7)
    at_eleven = before.replace(hour=23, minute=0)
    assert jobs.refresh_due(at_eleven) == sunday
    assert jobs.weekly_refresh(coach.db, runner, at_eleven) is True
    assert jobs.weekly_refresh(coach.db, runner, at_eleven.replace(minute=30)) is False  # once a week
    sent = alerts(coach)
    assert len(sent) == 1 and "Tu semana desde el lunes" in sent[0][0]
    assumed = coach.db.execute("SELECT COUNT(*) FROM running_runs WHERE source = 'assumed'").fetchone()[0]
    planned_this_week = sent and assumed
    assert planned_this_week >= 1  # the planned runs of the week nobody logged count as done


def test_a_progress_card_goes_out_every_14_days_from_the_first_run(coach):
    onboard(coach)
    runner = find_contact(coach.db, PHONE)
    coach.say(PHONE, "Ayer corrí 8 km en 44 min, me sentí bien")
    first_run = coach.db.execute("SELECT day FROM running_runs").fetchone()[0]
    start = date.fromisoformat(first_run)
    too_soon = datetime.combine(start + timedelta(days=10), datetime.min.time(), LIMA).replace(hour=9)
    assert jobs.progress_card(coach.db, runner, too_soon) is False
    due = datetime.combine(start + timedelta(days=15), datetime.min.time(), LIMA).replace(hour=9)
    assert jobs.progress_card(coach.db, runner, due.replace(hour=3)) is False  # not at night
    assert jobs.progress_card(coach.db, runner, due) is True
    assert jobs.progress_card(coach.db, runner, due) is False
    message, level, has_image = alerts(coach)[-1]
    assert has_image and "Tu progreso del" in message and "8 km" in message
    png = coach.db.execute("SELECT image FROM alerts WHERE image IS NOT NULL").fetchone()[0]
    assert Image.open(io.BytesIO(png)).size == (800, 600)


def test_a_garmin_export_is_imported_once_and_reported_line_by_line(coach):
    onboard(coach)
    url = f"/running/import/garmin?phone={PHONE}"
    csv = (DATA / "activities_en.csv").read_bytes()
    first = coach.client.post(url, data=csv, headers={**AUTH, "Content-Type": "text/csv"})
    assert first.status_code == 200, first.json
    assert first.json["imported"] >= 3 and first.json["refused"]
    assert any("no es una carrera" in r["reason"] for r in first.json["refused"])
    stored = coach.db.execute("SELECT COUNT(*) FROM running_runs WHERE source = 'garmin'").fetchone()[0]
    assert stored == first.json["imported"]
    again = coach.client.post(url, data={"file": (io.BytesIO(csv), "activities.csv")},
                              headers=AUTH, content_type="multipart/form-data")
    assert again.json["imported"] == 0 and again.json["duplicates"] == first.json["imported"]


def test_a_file_that_is_not_a_garmin_export_saves_nothing(coach):
    onboard(coach)
    url = f"/running/import/garmin?phone={PHONE}"
    wrong = coach.client.post(url, data=(DATA / "strava_activities.csv").read_bytes(), headers=AUTH)
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "not_a_garmin_export"
    assert coach.client.post(url, data=b"", headers=AUTH).status_code == 400
    assert coach.client.post("/running/import/garmin?phone=+51911111111", data=b"x", headers=AUTH).status_code == 404
    assert coach.client.post(url, data=b"x").status_code == 401  # the bearer token is required
    assert coach.db.execute("SELECT COUNT(*) FROM running_runs").fetchone()[0] == 0
