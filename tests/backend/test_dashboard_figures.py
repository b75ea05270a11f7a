"""The dashboard's figures (backend/dashboard.py) on a real migrated store (a SQLite file, or
PostgreSQL: tests/databases.py), every one against
numbers worked out by hand from rows with known times — Lima's day boundaries included."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from backend import dashboard
from backend.dashboard_period import BadPeriod, Period, deployment_zone, parse_period
from backend.stats_metrics import current_figures
from backend.store.database import open_database
from backend.store.migrations import migrate
from tests.databases import store_location

LIMA = ZoneInfo("America/Lima")


def at(day: str, clock: str = "12:00:00", zone: ZoneInfo = LIMA) -> float:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone).timestamp()


@pytest.fixture
def db(tmp_path):
    database = open_database(store_location(tmp_path / "dashboard.db"))
    migrate(database)
    return database


def contact(db, contact_id: int, domain: str | None, step: str | None, created: float) -> None:
    db.execute("INSERT INTO contacts (id, phone, domain, onboarding_step, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", [contact_id, f"+5198700000{contact_id}", domain, step, created, created])


def message(db, contact_id: int, direction: str, created: float, source: str | None = None,
            answers: int | None = None) -> int:
    return db.insert("INSERT INTO messages (contact_id, direction, body, source, in_reply_to, created_at) "
                     "VALUES (?, ?, 'x', ?, ?, ?)", [contact_id, direction, source, answers, created])


def exchange(db, contact_id: int, asked: float, wait_s: float, source: str) -> int:
    question = message(db, contact_id, "in", asked)
    return message(db, contact_id, "out", asked + wait_s, source, question)


def alert(db, contact_id: int, created: float, status: str, delivery: str | None, kind: str = "alert") -> None:
    db.execute("INSERT INTO alerts (contact_id, message, level, status, delivery_status, next_attempt_at, created_at, kind) "
               "VALUES (?, 'Helada', 'alta', ?, ?, ?, ?, ?)", [contact_id, status, delivery, created, created, kind])


@pytest.fixture
def world(db):
    """Contacts 1, 2 (agro), 3 (running), 4 (no domain yet), 5 (running, quiet since February).
    The range is 2024-03-01..03 in Lima."""
    contact(db, 1, "agro", None, at("2024-03-01", "10:00:00"))
    contact(db, 2, "agro", "later:cultivo", at("2024-03-01", "23:30:00"))  # 04:30 UTC on the 2nd: still the 1st
    contact(db, 3, "running", "ciudad", at("2024-03-02", "00:10:00"))
    contact(db, 4, None, "nombre", at("2024-02-20"))
    contact(db, 5, "running", None, at("2024-01-05"))
    message(db, 1, "in", at("2024-02-29", "23:59:00"))  # before the range, though the 1st in UTC
    model_reply = exchange(db, 1, at("2024-03-01", "09:00:00"), 2, "model")
    exchange(db, 1, at("2024-03-01", "23:30:00"), 4, "code")  # Lima's 1st, UTC's 2nd
    cache_reply = exchange(db, 2, at("2024-03-02", "12:00:00"), 10, "cache")
    message(db, 2, "out", at("2024-03-02", "12:05:00"), "officer")  # answers nothing: no reply time
    exchange(db, 4, at("2024-03-02", "10:00:00"), 6, "onboarding")
    apology = exchange(db, 3, at("2024-03-03", "08:00:00"), 1, "apology")
    exchange(db, 3, at("2024-03-03", "08:10:00"), 3, "quota")
    message(db, 3, "out", at("2024-03-03", "09:00:00"), "experimental")  # a source no group knows
    message(db, 3, "in", at("2024-03-04", "00:00:30"))  # after the range
    message(db, 5, "in", at("2024-02-10"))  # active in the last 30 days, not the last 7
    for message_id, contact_id, value, when in ((model_reply, 1, 1, at("2024-03-01", "23:45:00")),
                                                (cache_reply, 2, -1, at("2024-03-02")),
                                                (apology, 3, -1, at("2024-03-03"))):
        db.execute("INSERT INTO ratings (contact_id, message_id, value, via, created_at) VALUES (?, ?, ?, 'reaction', ?)",
                   [contact_id, message_id, value, when])
    alert(db, 1, at("2024-03-01"), "sent", "read")
    alert(db, 2, at("2024-03-01"), "sent", "delivered")
    alert(db, 3, at("2024-03-02"), "failed", None)
    alert(db, 1, at("2024-03-02"), "sent", "failed")  # WhatsApp accepted it, then failed
    alert(db, 2, at("2024-03-03"), "pending", None)
    alert(db, 1, at("2024-03-03"), "sent", "read", kind="reply")  # an officer's reply: not an alert
    for contact_id, status in ((1, "waiting"), (2, "taken"), (3, "returned")):
        db.execute("INSERT INTO takeovers (contact_id, reason, status, requested_at, last_activity_at) "
                   "VALUES (?, 'asked', ?, 0, 0)", [contact_id, status])
    return db


def period(domain: str | None = None) -> Period:
    return Period(date(2024, 3, 1), date(2024, 3, 3), domain, LIMA)


def test_every_figure_of_a_range_in_lima(world):
    figures = dashboard.figures(world, period())
    assert figures["period"] == {"from": "2024-03-01", "to": "2024-03-03", "domain": None, "timezone": "America/Lima"}
    assert figures["days"] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert figures["messages_per_day"] == {"by_domain": {"": [0, 2, 0], "agro": [4, 3, 0], "running": [0, 0, 5]},
                                           "total": [4, 5, 5]}
    assert figures["active_users"] == {"7d": 4, "30d": 5}
    assert figures["new_users"] == {"new": [2, 1, 0], "onboarded": [2, 0, 0], "total_new": 3, "total_onboarded": 2}
    replies = figures["replies_by_source"]
    assert replies["groups"] == {"code": 2, "model": 1, "cache": 1, "apology": 2, "officer": 1, "other": 1}
    assert replies["sources"] == {"apology": 1, "cache": 1, "code": 1, "experimental": 1, "model": 1,
                                  "officer": 1, "onboarding": 1, "quota": 1}
    assert replies["total"] == 8
    assert replies["per_day"]["code"] == [1, 1, 0] and replies["per_day"]["apology"] == [0, 0, 2]
    # Waits: the 1st 2 and 4 s, the 2nd 10 and 6 s (the officer's reply has none), the 3rd 1 and 3 s.
    assert figures["reply_seconds"] == {"p50": [2, 6, 1], "p95": [4, 10, 3], "replies": [2, 2, 2],
                                        "overall": {"p50": 3, "p95": 10, "replies": 6}}
    assert figures["ratings"] == {"good": [1, 0, 0], "bad": [0, 1, 1], "total_good": 1, "total_bad": 2}
    assert figures["alerts"]["per_day"] == {"created": [2, 2, 1], "sent": [2, 1, 0], "delivered": [2, 0, 0],
                                            "read": [1, 0, 0], "failed": [0, 2, 0]}
    assert figures["alerts"]["total"] == {"created": 5, "sent": 3, "delivered": 2, "read": 1, "failed": 2}
    assert figures["open_takeovers"] == {"waiting": 1, "taken": 1}


def test_the_domain_filter_keeps_only_that_domains_contacts(world):
    agro = dashboard.figures(world, period("agro"))
    assert agro["messages_per_day"] == {"by_domain": {"agro": [4, 3, 0]}, "total": [4, 3, 0]}
    assert agro["active_users"] == {"7d": 2, "30d": 2}
    assert agro["new_users"]["new"] == [2, 0, 0]
    assert agro["replies_by_source"]["sources"] == {"cache": 1, "code": 1, "model": 1, "officer": 1}
    assert agro["reply_seconds"]["p50"] == [2, 10, None] and agro["reply_seconds"]["p95"] == [4, 10, None]
    assert agro["ratings"]["good"] == [1, 0, 0] and agro["ratings"]["bad"] == [0, 1, 0]
    assert agro["alerts"]["total"]["created"] == 4
    assert agro["open_takeovers"] == {"waiting": 1, "taken": 1}
    running = dashboard.figures(world, period("running"))
    assert running["messages_per_day"]["by_domain"] == {"running": [0, 0, 5]}
    assert running["active_users"] == {"7d": 1, "30d": 2}
    assert running["open_takeovers"] == {"waiting": 0, "taken": 0}


def test_a_domain_with_no_messages_in_the_range_still_has_its_line(world):
    quiet = dashboard.figures(world, Period(date(2023, 1, 1), date(2023, 1, 2), "agro", LIMA))
    assert quiet["messages_per_day"] == {"by_domain": {"agro": [0, 0]}, "total": [0, 0]}
    assert quiet["reply_seconds"]["p50"] == [None, None]


def test_percentiles_are_nearest_rank():
    values = [float(n) for n in range(1, 21)]
    assert dashboard.nearest_rank(values, 0.5) == 10 and dashboard.nearest_rank(values, 0.95) == 19
    assert dashboard.nearest_rank([7.0], 0.95) == 7 and dashboard.nearest_rank([], 0.5) is None


def test_twenty_replies_on_one_day(db):
    contact(db, 1, "agro", None, at("2024-03-01"))
    for wait in range(20, 0, -1):
        exchange(db, 1, at("2024-03-01", "10:00:00") + wait * 60, wait, "model")
    figures = dashboard.figures(db, Period(date(2024, 3, 1), date(2024, 3, 1), None, LIMA))
    assert figures["reply_seconds"]["p50"] == [10] and figures["reply_seconds"]["p95"] == [19]


def test_days_follow_summer_time(db):
    """Madrid moves to UTC+2 on 2024-03-31: 00:30 on April 1st is 22:30 UTC on the 31st, which a
    fixed offset taken at the range's start (+1) would put on the 31st."""
    madrid = ZoneInfo("Europe/Madrid")
    contact(db, 1, "agro", None, at("2024-03-01"))
    message(db, 1, "in", at("2024-03-30", "23:30:00", madrid))
    message(db, 1, "in", at("2024-03-31", "23:30:00", madrid))
    message(db, 1, "in", at("2024-04-01", "00:30:00", madrid))
    figures = dashboard.figures(db, Period(date(2024, 3, 29), date(2024, 4, 2), None, madrid))
    assert figures["messages_per_day"]["total"] == [0, 1, 1, 1, 0]


def test_the_zone_is_read_from_chasqui_timezone(monkeypatch):
    monkeypatch.delenv("CHASQUI_TIMEZONE", raising=False)
    assert deployment_zone().key == "America/Lima"
    monkeypatch.setenv("CHASQUI_TIMEZONE", "Europe/Madrid")
    assert deployment_zone().key == "Europe/Madrid"
    monkeypatch.setenv("CHASQUI_TIMEZONE", "Mars/Olympus")
    assert deployment_zone().key == "America/Lima"  # logged, not fatal


def test_parsing_a_range():
    today = date(2024, 3, 31)
    default = parse_period({}, ["agro"], LIMA, today)
    assert (default.first, default.last, default.domain) == (date(2024, 3, 2), today, None)
    chosen = parse_period({"from": "2024-01-01", "to": "2024-01-31", "domain": "agro"}, ["agro"], LIMA, today)
    assert (chosen.first, chosen.last, chosen.domain) == (date(2024, 1, 1), date(2024, 1, 31), "agro")
    assert parse_period({"from": "2023-01-01", "to": "2024-01-01"}, [], LIMA, today).days[-1] == date(2024, 1, 1)
    for args, param in (({"from": "2024-02-30"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "2024-3-1"}, "from"),
                        ({"from": "2024-03-10", "to": "2024-03-01"}, "from"),
                        ({"from": "2023-01-01", "to": "2024-01-02"}, "from"),
                        ({"domain": "medicina"}, "domain"), ({"domain": "a" * 200}, "domain")):
        with pytest.raises(BadPeriod) as refused:
            parse_period(args, ["agro"], LIMA, today)
        assert refused.value.param == param, args


def test_the_metrics_figures_count_now(world):
    figures = current_figures(world, at=at("2024-03-03", "20:00:00"))
    assert figures["active_users"] == {"7d": 4, "30d": 5}
    assert figures["open_takeovers"] == {"waiting": 1, "taken": 1}
    assert figures["ratings"] == {"good": 1, "bad": 2}
    assert sorted(figures["alerts"]) == [("failed", "none", 1), ("pending", "none", 1), ("sent", "delivered", 1),
                                         ("sent", "failed", 1), ("sent", "read", 1)]
    assert sorted(figures["replies_today"]) == [("apology", 1), ("experimental", 1), ("quota", 1)]
