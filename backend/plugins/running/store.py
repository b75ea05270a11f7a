"""The running plug-in's own tables and the reads and writes on them. Every write runs inside the
caller's transaction (the orchestrator's, a job's or an import's), so a run, a plan and the alert
about them are saved together or not at all."""
from __future__ import annotations

import json
import logging
import math
from datetime import date

from backend.plugin_api import core, Database
from backend.plugins.running.run_record import InvalidRun, RunRecord, check_stored, dedupe_key

log = logging.getLogger(__name__)

MIGRATIONS = [
    (1, "runs, fitness, injuries, plans", """
CREATE TABLE running_runs (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,                       -- ISO date, the runner's local day
    distance_km REAL NOT NULL,
    duration_s REAL NOT NULL,
    rpe INTEGER,
    mood INTEGER,
    aches TEXT NOT NULL DEFAULT '[]',        -- JSON list of body areas
    notes TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,                    -- chat, garmin, form, assumed (a planned run counted as done)
    dedupe_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (contact_id, dedupe_key)
);
CREATE INDEX running_runs_by_day ON running_runs(contact_id, day);
CREATE TABLE running_fitness (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    vdot REAL NOT NULL,
    source TEXT NOT NULL,                    -- race, runs
    PRIMARY KEY (contact_id, day)
);
CREATE TABLE running_injuries (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    area TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('ache', 'injury')),
    since TEXT NOT NULL,
    resolved_on TEXT
);
CREATE TABLE running_plans (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    plan TEXT NOT NULL,                      -- JSON of plans.Plan
    generated_on TEXT NOT NULL
);
-- One row per runner and week: the weekly refresh and the progress card each run once.
CREATE TABLE running_job_marks (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    job TEXT NOT NULL,                       -- weekly_refresh, progress_card
    period TEXT NOT NULL,                    -- the ISO date that names the week or fortnight
    done_at REAL NOT NULL,
    PRIMARY KEY (contact_id, job, period)
);
"""),
]


def save_run(connection: Database, contact_id: int, run: RunRecord) -> bool:
    """False when the same run is already stored (a repeated message, a re-imported file)."""
    return add_run(connection, contact_id, run) is not None


def add_run(connection: Database, contact_id: int, run: RunRecord) -> int | None:
    """The new row's id, or None when the same run is already stored."""
    new_id = connection.insert(
        "INSERT INTO running_runs (contact_id, day, distance_km, duration_s, rpe, mood, aches, notes, "
        "source, dedupe_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (contact_id, run.day.isoformat(), run.distance_km, run.duration_s, run.rpe, run.mood,
         json.dumps(list(run.aches), ensure_ascii=False), run.notes, run.source, dedupe_key(run), core.now()))
    return new_id


def delete_run(connection: Database, contact_id: int, run_id: int) -> None:
    connection.execute("DELETE FROM running_runs WHERE id = ? AND contact_id = ?", (run_id, contact_id))


def runs_between(connection: Database, contact_id: int, first: date, last: date) -> list[RunRecord]:
    rows = connection.execute(
        "SELECT id, day, distance_km, duration_s, rpe, mood, aches, notes, source FROM running_runs "
        "WHERE contact_id = ? AND day BETWEEN ? AND ? ORDER BY day, id",
        (contact_id, first.isoformat(), last.isoformat())).fetchall()
    return [run for row in rows if (run := _stored_run(row)) is not None]


def _stored_run(row: tuple) -> RunRecord | None:
    """A stored run, or None (with a warning naming the row) when no computation could use it:
    one bad row must not make a runner's every message fail."""
    run_id, day, distance_km, duration_s, rpe, mood, aches, notes, source = row
    try:
        run = RunRecord(date.fromisoformat(day), distance_km, duration_s, rpe, mood, tuple(json.loads(aches)),
                        notes if isinstance(notes, str) else "", source)
        check_stored(run)
    except (InvalidRun, ValueError, TypeError) as problem:
        log.warning("stored run skipped: it cannot be used", extra={"run_id": run_id, "error": str(problem)[:200]})
        return None
    return run


def save_vdot(connection: Database, contact_id: int, day: date, vdot: float, source: str) -> None:
    connection.execute("INSERT INTO running_fitness (contact_id, day, vdot, source) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (contact_id, day) DO UPDATE SET vdot = excluded.vdot, source = excluded.source",
                       (contact_id, day.isoformat(), round(vdot, 2), source))


def vdot_history(connection: Database, contact_id: int) -> list[tuple[date, float]]:
    rows = connection.execute("SELECT day, vdot FROM running_fitness WHERE contact_id = ? ORDER BY day",
                              (contact_id,)).fetchall()
    history = []
    for day, vdot in rows:
        try:
            if isinstance(vdot, bool) or not isinstance(vdot, (int, float)) or not math.isfinite(vdot) or vdot <= 0:
                raise ValueError(f"VDOT {vdot!r}")
            history.append((date.fromisoformat(day), vdot))
        except (ValueError, TypeError) as problem:
            log.warning("stored fitness reading skipped", extra={"contact": contact_id, "day": str(day)[:20],
                                                                 "error": str(problem)[:200]})
    return history


def latest_vdot(connection: Database, contact_id: int) -> float | None:
    history = vdot_history(connection, contact_id)
    return history[-1][1] if history else None


def open_injury(connection: Database, contact_id: int) -> tuple[str, str, date] | None:
    row = open_injury_row(connection, contact_id)
    return (row["area"], row["severity"], row["since"]) if row else None


def open_injury_row(connection: Database, contact_id: int) -> dict | None:
    """The open injury with its row id: {"id", "area", "severity", "since"}."""
    row = connection.execute("SELECT id, area, severity, since FROM running_injuries WHERE contact_id = ? AND "
                             "resolved_on IS NULL ORDER BY id DESC LIMIT 1", (contact_id,)).fetchone()
    if row is None:
        return None
    try:
        since = date.fromisoformat(row[3])
    except (ValueError, TypeError):  # still an injury the plan must respect: from today, say
        log.warning("stored injury without a readable date", extra={"injury_id": row[0]})
        since = date.today()
    return {"id": row[0], "area": str(row[1]), "severity": row[2], "since": since}


def report_injury(connection: Database, contact_id: int, area: str, severity: str, since: date) -> int:
    """One open injury at a time: a new report replaces the description and keeps the worse severity.
    The id of the open injury's row."""
    current = open_injury_row(connection, contact_id)
    if current is not None:
        worse = "injury" if "injury" in (current["severity"], severity) else "ache"
        connection.execute("UPDATE running_injuries SET area = ?, severity = ? WHERE contact_id = ? AND "
                           "resolved_on IS NULL", (area, worse, contact_id))
        return current["id"]
    new_id = connection.insert("INSERT INTO running_injuries (contact_id, area, severity, since) VALUES (?, ?, ?, ?)",
                                (contact_id, area, severity, since.isoformat()))
    return new_id


def describe_injury(connection: Database, contact_id: int, injury_id: int, area: str, severity: str) -> None:
    """Puts back the area and severity a report replaced."""
    connection.execute("UPDATE running_injuries SET area = ?, severity = ? WHERE id = ? AND contact_id = ?",
                       (area, severity, injury_id, contact_id))


def delete_injury(connection: Database, contact_id: int, injury_id: int) -> None:
    connection.execute("DELETE FROM running_injuries WHERE id = ? AND contact_id = ?", (injury_id, contact_id))


def resolve_injury(connection: Database, contact_id: int, day: date) -> list[int]:
    """The ids of the injuries it closed (none when nothing was open)."""
    ids = [row[0] for row in connection.execute(
        "SELECT id FROM running_injuries WHERE contact_id = ? AND resolved_on IS NULL ORDER BY id", (contact_id,))]
    connection.execute("UPDATE running_injuries SET resolved_on = ? WHERE contact_id = ? AND resolved_on IS NULL",
                       (day.isoformat(), contact_id))
    return ids


def reopen_injuries(connection: Database, contact_id: int, injury_ids: list[int]) -> None:
    connection.executemany("UPDATE running_injuries SET resolved_on = NULL WHERE id = ? AND contact_id = ?",
                           [(injury_id, contact_id) for injury_id in injury_ids])


def save_plan(connection: Database, contact_id: int, plan_json: str, day: date) -> None:
    connection.execute("INSERT INTO running_plans (contact_id, plan, generated_on) VALUES (?, ?, ?) ON CONFLICT (contact_id) "
                       "DO UPDATE SET plan = excluded.plan, generated_on = excluded.generated_on",
                       (contact_id, plan_json, day.isoformat()))


def load_plan(connection: Database, contact_id: int) -> str | None:
    row = connection.execute("SELECT plan FROM running_plans WHERE contact_id = ?", (contact_id,)).fetchone()
    return row[0] if row else None


def mark_done(connection: Database, contact_id: int, job: str, period: date) -> bool:
    """True the first time only: a job that runs twice for the same period changes nothing twice."""
    cursor = connection.execute("INSERT INTO running_job_marks (contact_id, job, period, done_at) "
                                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (contact_id, job, period.isoformat(), core.now()))
    return cursor.rowcount == 1


def last_mark(connection: Database, contact_id: int, job: str) -> date | None:
    row = connection.execute("SELECT MAX(period) FROM running_job_marks WHERE contact_id = ? AND job = ?",
                             (contact_id, job)).fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None
