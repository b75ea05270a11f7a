"""The coach's calendar, run by the backend's scheduler every few minutes for every runner:

- weekly refresh, Sunday from 23:00 in the runner's time zone (or later, if the backend was down
  then): the week's planned runs without a log count as done (the seed's assumption: most
  runners forget to log, few skip), fitness is re-estimated, the plan ahead regenerated, and the
  new week sent as an alert;
- progress card, every 14 days from the runner's first run: an 800×600 PNG sent as an image alert.

Each is marked done per runner and period in the same transaction as its writes, so a re-run of
the job (another worker, a restart) changes nothing twice.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta


from backend.plugin_api import Contact, core, Database
from backend.plugins.running import coach, store
from backend.plugins.running.progress_card import CardData, render_card
from backend.plugins.running.run_record import RunRecord
from backend.spanish import day_name, km

log = logging.getLogger(__name__)

REFRESH_AT = time(23, 0)  # Sunday, the runner's local time
CARD_EVERY_DAYS = 14
CARD_FROM_HOUR = 8  # a picture at 3 a.m. is not welcome
ALERT_MAX_CHARS = 1500


def runners(db: Database) -> list[Contact]:
    """Runners done with onboarding who still take alerts: an opted-out one gets no week, no card."""
    return core.contacts(db, "running", settled=True, reachable=True)



# --- weekly refresh ---------------------------------------------------------------------------------

def weekly_refresh_all(db: Database) -> None:
    for contact in runners(db):
        with core.contained(db, "running.weekly_refresh", contact.id):  # one runner's bad data stops nobody else's week
            weekly_refresh(db, contact, contact.local_now())


def refresh_due(moment: datetime) -> date | None:
    """The Sunday whose refresh is due at `moment`: this Sunday from 23:00, else last Sunday."""
    sunday = moment.date() - timedelta(days=(moment.weekday() + 1) % 7)
    if sunday == moment.date() and moment.time() < REFRESH_AT:
        sunday -= timedelta(days=7)
    return sunday


def weekly_refresh(db: Database, contact: Contact, moment: datetime) -> bool:
    """True when it ran now; False when this week's refresh was already done."""
    sunday = refresh_due(moment)
    due_at = datetime.combine(sunday, REFRESH_AT, tzinfo=moment.tzinfo).timestamp()
    with core.transaction(db) as connection:
        if not store.mark_done(connection, contact.id, "weekly_refresh", sunday):
            return False
        joined = core.joined_at(connection, contact)
        if joined > due_at:  # joined after that Sunday: their first plan came with onboarding
            return False
        assumed = _assume_planned_runs_done(connection, contact, sunday)
        vdot = coach.update_fitness(connection, contact, sunday)
        plan = coach.replan(connection, contact, sunday + timedelta(days=1))
        week = plan.weeks[0]
        core.add_alert(connection, contact.id, _week_message(contact, week, assumed, vdot), "media")
    return True


def _assume_planned_runs_done(connection, contact: Contact, sunday: date) -> int:
    """Planned runs of the week with nothing logged that day count as done, at the planned
    distance (marked 'assumed', so fitness estimates ignore them)."""
    plan = coach.stored_plan(connection, contact.id)
    if plan is None:
        return 0
    monday = sunday - timedelta(days=6)
    logged_days = {r.day for r in store.runs_between(connection, contact.id, monday, sunday)}
    assumed = 0
    for run in coach.planned_between(plan, monday, sunday):
        if run.day in logged_days or not run.distance_km:
            continue
        duration_s = (run.duration_min or run.distance_km * 6) * 60
        if store.save_run(connection, contact.id, RunRecord(run.day, run.distance_km, duration_s, source="assumed",
                                                            notes=run.kind)):
            assumed += 1
    return assumed


def _week_message(contact: Contact, week, assumed: int, vdot: float | None) -> str:
    lines = [f"¡Hola{', ' + contact.name if contact.name else ''}! Tu semana desde el {day_name(week.start)} "
             f"({km(week.volume_km)}{', semana de descarga' if week.cutback else ''}):"]
    for run in week.runs:
        if run.kind != "rest":
            lines.append(f"• {day_name(run.day).split(' ')[0].capitalize()}: {run.description_es}")
    if assumed:
        lines.append(f"Conté como hechas {assumed} carreras planificadas sin registro; si no las hiciste, dímelo.")
    if vdot:
        lines.append(f"Tu VDOT actual: {vdot:.1f}.")
    return "\n".join(lines)[:ALERT_MAX_CHARS]


# --- progress card ----------------------------------------------------------------------------------

def progress_cards_all(db: Database) -> None:
    for contact in runners(db):
        with core.contained(db, "running.progress_card", contact.id):
            progress_card(db, contact, contact.local_now())


def _first_run_day(connection, contact_id: int) -> date | None:
    """The first day with a run whose day can be read (a bad one is skipped, not fatal)."""
    for (day,) in connection.execute("SELECT DISTINCT day FROM running_runs WHERE contact_id = ? ORDER BY day",
                                     (contact_id,)):
        try:
            return date.fromisoformat(day)
        except (TypeError, ValueError):
            log.warning("stored run day skipped", extra={"contact": contact_id, "day": str(day)[:20]})
    return None


def card_due(connection, contact: Contact, today: date) -> date | None:
    """The end of the fortnight whose card is due, counted from the first run or the last card."""
    last = store.last_mark(connection, contact.id, "progress_card")
    if last is None:
        first = _first_run_day(connection, contact.id)
        if first is None:
            return None
        last = first - timedelta(days=1)
    due = last + timedelta(days=CARD_EVERY_DAYS)
    return due if due <= today else None


def progress_card(db: Database, contact: Contact, moment: datetime) -> bool:
    if moment.hour < CARD_FROM_HOUR:
        return False
    with core.transaction(db) as connection:
        period_end = card_due(connection, contact, moment.date() - timedelta(days=1))
        if period_end is None or not store.mark_done(connection, contact.id, "progress_card", period_end):
            return False
        data = card_data(connection, contact, period_end)
        text = (f"Tu progreso del {day_name(data.period_start)} al {day_name(data.period_end)}: "
                f"{km(data.total_km)}, {data.done_runs} de {data.planned_runs} sesiones.")
        core.add_alert(connection, contact.id, text, "baja", image=render_card(data))
    return True


def card_data(connection, contact: Contact, period_end: date) -> CardData:
    start = period_end - timedelta(days=CARD_EVERY_DAYS - 1)
    runs = store.runs_between(connection, contact.id, start, period_end)
    weeks = []
    for index in range(7, -1, -1):  # the eight weeks up to the period's end, for the volume chart
        monday = coach.monday_of(period_end) - timedelta(weeks=index)
        week_runs = store.runs_between(connection, contact.id, monday, monday + timedelta(days=6))
        weeks.append((f"{monday.day} {day_name(monday).split(' ')[-1][:3]}", sum(r.distance_km for r in week_runs)))
    plan = coach.stored_plan(connection, contact.id)
    planned = len(coach.planned_between(plan, start, period_end)) if plan else 0
    done = len([r for r in runs if r.source != "assumed"])
    return CardData(name=contact.name or "", period_start=start, period_end=period_end, weekly_km=weeks,
                    vdot_trend=store.vdot_history(connection, contact.id)[-12:],
                    planned_runs=max(planned, done), done_runs=done,
                    moods=[r.mood for r in runs if r.mood], total_km=sum(r.distance_km for r in runs),
                    longest_run_km=max((r.distance_km for r in runs), default=0.0))
