"""Poison isolation for runners: a stored row no computation can use (written before a check
existed, or by hand in the database) is skipped with a warning, never a failed reply or job."""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.plugins.running import jobs
from tests.running.conftest import PHONE, onboard

OTHER = "+51987000111"
QUESTIONS = ["¿Cuánto corrí esta semana?", "cual es mi ritmo facil", "¿Qué me toca hoy?", "¿Cuál es mi VDOT?",
             "¿Cuál fue mi última carrera?", "hola"]


def poison(db, contact_id: int) -> None:
    today = local_today(db, contact_id).isoformat()  # the runner's day, as the questions read it
    bad_runs = [("2026-13-45", 5, 1500, "[]"), ("0000-00-00", 5, 1500, "[]"), (today, 5, -1, "[]"),
                (today, 5, 1500, "not json"), (today, 5, 1500, '[1, 2]')]
    # Only SQLite lets text into a REAL column; PostgreSQL's types keep such a row out, so there a
    # number no computation can use (NaN) stands for it.
    if db.dialect == "sqlite":
        bad_runs.append((today, "cinco", 1500, "[]"))
    bad_vdot = "x" if db.dialect == "sqlite" else float("nan")
    for index, (day, distance, duration, aches) in enumerate(bad_runs):
        db.execute("INSERT INTO running_runs (contact_id, day, distance_km, duration_s, aches, source, dedupe_key, "
                   "created_at) VALUES (?, ?, ?, ?, ?, 'chat', ?, 0)", [contact_id, day, distance, duration, aches,
                                                                       f"bad-{index}"])
    db.execute("INSERT INTO running_fitness (contact_id, day, vdot, source) VALUES (?, ?, ?, 'runs') "
               "ON CONFLICT (contact_id, day) DO UPDATE SET vdot = excluded.vdot", [contact_id, today, bad_vdot])
    db.execute("INSERT INTO running_fitness (contact_id, day, vdot, source) VALUES (?, 'ayer', 40, 'runs')",
               [contact_id])
    db.execute("INSERT INTO running_plans (contact_id, plan, generated_on) VALUES (?, '{\"weeks\": 3}', ?) "
               "ON CONFLICT (contact_id) DO UPDATE SET plan = excluded.plan", [contact_id, today])
    # The profile's JSON is edited in Python: both engines store it as text.
    data = json.loads(db.execute("SELECT data FROM profiles WHERE contact_id = ?", [contact_id]).fetchone()[0])
    data.update({"carreras_por_semana": "muchas", "fecha_carrera": "2026-02-30", "nivel": "pro"})
    db.execute("UPDATE profiles SET data = ? WHERE contact_id = ?", [json.dumps(data), contact_id])


def local_today(db, contact_id: int) -> date:
    timezone = db.execute("SELECT timezone FROM contacts WHERE id = ?", [contact_id]).fetchone()[0]
    return datetime.now(ZoneInfo(timezone)).date()


def contact_id(db, phone: str) -> int:
    return db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]


def test_a_runner_with_unusable_rows_still_gets_every_answer_and_the_rows_are_named(coach, caplog):
    onboard(coach)
    coach.say(PHONE, "Ayer corrí 8 km en 44 min")
    poison(coach.db, contact_id(coach.db, PHONE))
    with caplog.at_level(logging.WARNING):
        for question in QUESTIONS:
            reply = coach.say(PHONE, question)["model_output"]["respuesta_chat"]
            assert reply.strip(), question
    assert "8 km" in coach.say(PHONE, "¿Cuánto corrí esta semana?")["model_output"]["respuesta_chat"] or \
        "8 km" in coach.say(PHONE, "¿Cuál fue mi última carrera?")["model_output"]["respuesta_chat"]
    warned = [record for record in caplog.records if "skipped" in record.getMessage()]
    assert any(getattr(record, "run_id", None) for record in warned)  # the row is named
    assert any("plan" in record.getMessage() for record in warned)


def test_the_weekly_refresh_and_cards_go_on_for_everyone_when_one_runner_has_unusable_rows(coach):
    onboard(coach)
    onboard(coach, OTHER)
    for phone in (PHONE, OTHER):
        coach.say(phone, "Ayer corrí 8 km en 44 min")
    poison(coach.db, contact_id(coach.db, PHONE))
    coach.db.execute("UPDATE contacts SET created_at = created_at - ?", [30 * 86400])
    coach.db.execute("UPDATE running_runs SET day = ? WHERE dedupe_key NOT LIKE 'bad-%'",
                     [(local_today(coach.db, contact_id(coach.db, PHONE)) - timedelta(days=20)).isoformat()])
    jobs.weekly_refresh_all(coach.db)
    jobs.progress_cards_all(coach.db)
    weeks = coach.db.execute("SELECT contact_id FROM alerts WHERE message LIKE '%Tu semana desde%'").fetchall()
    assert sorted(row[0] for row in weeks) == sorted(contact_id(coach.db, p) for p in (PHONE, OTHER))
    assert coach.count("failures") == 0, coach.db.execute("SELECT * FROM failures").fetchall()
