"""The dashboard's figures for a Period (backend.dashboard_period): plain SQL over the store, the
same numbers for the panel's first page, /admin/dashboard.json and GET /stats.

Every per-day list is aligned with `days` (the range's local dates, both ends included).

- messages per day by domain: inbound and outbound messages, by their contact's domain ('' for
  contacts that have not picked one yet);
- active users: contacts with an inbound message in the last 7 and 30 local days up to `to`;
- new users per day (contacts.created_at), and how many of them finished onboarding:
  onboarding_step NULL, or "later:<field>" (a question kept for after the first answer: the user
  is already being answered, so it counts as finished);
- replies by source (outbound messages), grouped:
    code     code, action, onboarding, opt-out, knowledge (a knowledge entry quoted by code when the
             model's answer was unusable or missing)
    model    model, secondary
    cache    cache
    apology  apology, quota
    officer  officer (written in the panel), notice (told that a person attends)
    other    anything else (a source added later shows up here, and in the raw counts)
  the raw counts per source are kept next to the groups;
- reply time per day: an outbound message's created_at minus that of the message it answers
  (in_reply_to), p50 and p95 by nearest rank; officers' replies answer no message and are left out;
- ratings per day, good (1) and bad (-1);
- alerts (kind 'alert', not officers' replies or notices) per day of creation and in total:
  created; sent (the bridge handed it to WhatsApp); delivered (delivery status delivered or read);
  read; failed (the queue gave up, or WhatsApp reported a failure after accepting it);
- open takeovers by status (waiting, taken): a count now, not over the range.

A domain filter keeps only the rows of contacts in that domain.

Speed (bench/dashboard.py: 10,000 contacts, 1,000,000 messages over 60 days, so 500,000 in a
30-day range; a 2-core machine): the whole page 538 ms quiet (up to 820 ms while other test
suites ran), 296 ms for one domain. Messages per day walks messages_by_contact_time from each
contact, which holds every column that count needs (no table reads); the reply figures read each
day's outbound rows once, by rowid range, both figures from one pass; the active users are one
EXISTS probe per contact on the same index. A covering index on messages(direction, created_at,
source, in_reply_to) would take the reply rows' read from 493 to 262 ms, about 20% of the page:
not worth a migration yet. Those are SQLite's figures; PostgreSQL runs the same statements but for
the day expression (day_sql) and the join order, which its planner chooses.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

from backend.contacts import LATER_PREFIX
from backend.dashboard_period import Period, day_number, local_midnight
from backend.store.database import Database

SOURCE_GROUPS = {
    "code": ("code", "action", "onboarding", "opt-out", "knowledge"),
    "model": ("model", "secondary"),
    "cache": ("cache",),
    "apology": ("apology", "quota"),
    "officer": ("officer", "notice"),
}
GROUPS = (*SOURCE_GROUPS, "other")
_GROUP_OF = {source: group for group, sources in SOURCE_GROUPS.items() for source in sources}
ALERT_COUNTS = ("created", "sent", "delivered", "read", "failed")
OPEN_TAKEOVERS = ("waiting", "taken")
ACTIVE_WINDOWS = (7, 30)


def group_of(source: str | None) -> str:
    return _GROUP_OF.get(source or "", "other")


def nearest_rank(ordered: list[float], share: float) -> float | None:
    """The value at rank ceil(share * n) of a sorted list (None when it is empty)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def domains(db: Database) -> list[str]:
    """The domains contacts are in (for the filter)."""
    return [row[0] for row in db.execute(
        "SELECT DISTINCT domain FROM contacts WHERE domain IS NOT NULL ORDER BY domain")]


def figures(db: Database, period: Period) -> dict:
    return {
        "period": period.as_dict(),
        "days": [day.isoformat() for day in period.days],
        "messages_per_day": messages_per_day(db, period),
        "active_users": active_users(db, period),
        "new_users": new_users(db, period),
        **replies(db, period),
        "ratings": ratings(db, period),
        "alerts": alerts(db, period),
        "open_takeovers": open_takeovers(db, period),
    }


def _contact_filter(period: Period, alias: str = "c") -> tuple[str, list]:
    return (f" AND {alias}.domain = ?", [period.domain]) if period.domain else ("", [])


def _per_day(period: Period, rows, value_of=lambda row: row[1]) -> list:
    """A list aligned with the range's days from (day number, value) rows."""
    first, counts = day_number(period.first), [0] * len(period.days)
    for row in rows:
        if 0 <= row[0] - first < len(counts):  # always, unless a zone's rules changed under the range
            counts[row[0] - first] += value_of(row)
    return counts


def messages_per_day(db: Database, period: Period) -> dict:
    # One query per domain, CROSS JOIN keeping contacts outside: each contact's range of
    # messages_by_contact_time is counted without a table read, and the GROUP BY sorts day
    # numbers only (by domain and day at once: 177 ms; through messages_by_time: 297 ms).
    names = [period.domain] if period.domain else [*domains(db), None]
    # PostgreSQL has no CROSS JOIN ... ON (nor needs it: its planner orders joins by its statistics).
    join = "CROSS JOIN" if db.dialect == "sqlite" else "JOIN"
    by_domain: dict[str, list] = {}
    for name in names:
        rows = db.execute(
            f"SELECT {period.day_sql('m.created_at', db.dialect)} AS day, COUNT(*) FROM contacts c {join} messages m "
            "ON m.contact_id = c.id AND m.created_at >= ? AND m.created_at < ? "
            f"WHERE c.domain {'IS NULL' if name is None else '= ?'} GROUP BY 1",
            [period.start_s, period.end_s, *([] if name is None else [name])]).fetchall()
        if rows or name == period.domain:
            by_domain[name or ""] = _per_day(period, rows)
    total = [sum(day) for day in zip(*by_domain.values())] if by_domain else [0] * len(period.days)
    return {"by_domain": by_domain, "total": total}


def _day_ids(db: Database, period: Period) -> list[tuple[float, float, int | None, int | None]]:
    """(start, end, lowest id, highest id) of each day's messages. Reading a day's rows by rowid
    range walks the table in order; through messages_by_time each row is a separate lookup
    (the range's outbound rows: 29 ms against 111 ms). Exact whatever the ids' order: the range
    holds every row of the day, and the time is checked again on each."""
    spans = []
    for day in period.days:
        start, end = local_midnight(day, period.zone), local_midnight(day + timedelta(1), period.zone)
        spans.append((start, end, *db.execute("SELECT MIN(id), MAX(id) FROM messages WHERE created_at >= ? "
                                              "AND created_at < ?", [start, end]).fetchone()))
    return spans


def active_users(db: Database, period: Period) -> dict:
    where, params = _contact_filter(period)
    counts = {}
    for days in ACTIVE_WINDOWS:
        counts[f"{days}d"] = db.execute(
            "SELECT COUNT(*) FROM contacts c WHERE EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = c.id "
            f"AND m.created_at >= ? AND m.created_at < ? AND m.direction = 'in'){where}",
            [period.since_s(days), period.end_s, *params]).fetchone()[0]
    return counts


def new_users(db: Database, period: Period) -> dict:
    where, params = _contact_filter(period)
    rows = db.execute(
        f"SELECT {period.day_sql('c.created_at', db.dialect)} AS day, COUNT(*), "
        f"{_count_if('c.onboarding_step IS NULL OR substr(c.onboarding_step, 1, ?) = ?')} "
        f"FROM contacts c WHERE c.created_at >= ? AND c.created_at < ?{where} GROUP BY 1",
        [len(LATER_PREFIX), LATER_PREFIX, period.start_s, period.end_s, *params]).fetchall()
    new, onboarded = _per_day(period, rows), _per_day(period, rows, lambda row: row[2])
    return {"new": new, "onboarded": onboarded, "total_new": sum(new), "total_onboarded": sum(onboarded)}


def replies(db: Database, period: Period) -> dict:
    """Replies by source and reply time, from one read of each day's outbound messages (the
    percentiles sorted in Python: 23 ms for 250,000 values, where SQL window functions took 557)."""
    join, params = (" JOIN contacts c ON c.id = m.contact_id AND c.domain = ?", [period.domain]) \
        if period.domain else ("", [])
    sources: dict[str, int] = defaultdict(int)
    group_days: dict[str, list] = {group: [] for group in GROUPS}
    p50, p95, answered, everything = [], [], [], []
    for start, end, low, high in _day_ids(db, period):
        day_sources: dict[str | None, int] = defaultdict(int)
        waits = []
        if low is not None:
            # +m.created_at: the rowid range, not messages_by_time, drives the read.
            for source, wait in db.execute(
                    f"SELECT m.source, m.created_at - q.created_at FROM messages m{join} "
                    "LEFT JOIN messages q ON q.id = m.in_reply_to WHERE m.id BETWEEN ? AND ? "
                    "AND +m.created_at >= ? AND +m.created_at < ? AND m.direction = 'out'",
                    [*params, low, high, start, end]):
                day_sources[source] += 1
                if wait is not None:
                    waits.append(wait)
        for group in GROUPS:
            group_days[group].append(0)
        for source, count in day_sources.items():
            sources[source or ""] += count
            group_days[group_of(source)][-1] += count
        waits.sort()
        everything.extend(waits)
        p50.append(_seconds(nearest_rank(waits, 0.5)))
        p95.append(_seconds(nearest_rank(waits, 0.95)))
        answered.append(len(waits))
    everything.sort()
    return {
        "replies_by_source": {"groups": {group: sum(counts) for group, counts in group_days.items()},
                              "sources": dict(sorted(sources.items())), "total": sum(sources.values()),
                              "per_day": group_days},
        "reply_seconds": {"p50": p50, "p95": p95, "replies": answered,
                          "overall": {"p50": _seconds(nearest_rank(everything, 0.5)),
                                      "p95": _seconds(nearest_rank(everything, 0.95)),
                                      "replies": len(everything)}},
    }


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def ratings(db: Database, period: Period) -> dict:
    join, params = (" JOIN contacts c ON c.id = r.contact_id AND c.domain = ?", [period.domain]) \
        if period.domain else ("", [])
    rows = db.execute(
        f"SELECT {period.day_sql('r.created_at', db.dialect)}, r.value, COUNT(*) FROM ratings r{join} "
        "WHERE r.created_at >= ? AND r.created_at < ? GROUP BY 1, 2", [*params, period.start_s, period.end_s]).fetchall()
    good = _per_day(period, [(day, n) for day, value, n in rows if value == 1])
    bad = _per_day(period, [(day, n) for day, value, n in rows if value == -1])
    return {"good": good, "bad": bad, "total_good": sum(good), "total_bad": sum(bad)}


def alerts(db: Database, period: Period) -> dict:
    join, params = (" JOIN contacts c ON c.id = a.contact_id AND c.domain = ?", [period.domain]) \
        if period.domain else ("", [])
    counts = ", ".join(_count_if(condition) for condition in (
        "a.status = 'sent'", "a.delivery_status IN ('delivered', 'read')", "a.delivery_status = 'read'",
        "a.status = 'failed' OR a.delivery_status = 'failed'"))
    rows = db.execute(
        f"SELECT {period.day_sql('a.created_at', db.dialect)}, COUNT(*), {counts} "
        f"FROM alerts a{join} WHERE a.kind = 'alert' AND a.created_at >= ? AND a.created_at < ? GROUP BY 1",
        [*params, period.start_s, period.end_s]).fetchall()
    per_day = {name: _per_day(period, rows, lambda row, i=i: row[i + 1] or 0) for i, name in enumerate(ALERT_COUNTS)}
    return {"per_day": per_day, "total": {name: sum(counts) for name, counts in per_day.items()}}


def _count_if(condition: str) -> str:
    # Not SUM(condition): PostgreSQL's conditions are booleans, which it does not add up.
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def open_takeovers(db: Database, period: Period) -> dict:
    join, params = (" JOIN contacts c ON c.id = t.contact_id AND c.domain = ?", [period.domain]) \
        if period.domain else ("", [])
    counts = dict(db.execute(f"SELECT t.status, COUNT(*) FROM takeovers t{join} "
                             "WHERE t.status IN ('waiting', 'taken') GROUP BY t.status", params).fetchall())
    return {status: counts.get(status, 0) for status in OPEN_TAKEOVERS}
