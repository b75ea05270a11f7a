"""The dashboard's point-in-time figures as Prometheus gauges, computed when /metrics is scraped.

    chasqui_active_users{window="7d"|"30d"}     contacts with an inbound message in the last 7 / 30
                                                 days (rolling, up to the scrape)
    chasqui_open_takeovers{status="waiting"|"taken"}
    chasqui_ratings{value="good"|"bad"}         ratings stored (a changed reaction replaces one, an
                                                 erased contact takes theirs: a gauge, not a counter)
    chasqui_alerts{status, delivery_status}     alerts (kind 'alert') stored, by queue status and the
                                                 provider's last delivery status ("none" before any)
    chasqui_replies_today{source, group}        replies since local midnight (CHASQUI_TIMEZONE), by
                                                 source and its dashboard group (backend.dashboard)
    chasqui_stats_collect_seconds               what computing these took at the last refresh

Per-day series (messages per day, reply time) are not metrics: Prometheus makes its own series
from counters such as chasqui_agent_replies. The queries are the cheap ones (an index probe per
contact, small tables, one day of replies; bench/dashboard.py measures them at a million
messages) and their result is kept CACHE_S seconds, so several scrapers, or one scraping often,
cost one computation per CACHE_S.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily

from backend.dashboard import ACTIVE_WINDOWS, OPEN_TAKEOVERS, group_of
from backend.dashboard_period import deployment_zone
from backend.store.database import Store

CACHE_S = 15.0


def current_figures(db, at: float | None = None) -> dict:
    at = time.time() if at is None else at
    zone = deployment_zone()
    midnight = datetime.fromtimestamp(at, zone).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    active = {f"{days}d": db.execute(
        "SELECT COUNT(*) FROM contacts c WHERE EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = c.id "
        "AND m.created_at >= ? AND m.direction = 'in')", [at - days * 86400]).fetchone()[0] for days in ACTIVE_WINDOWS}
    takeovers = dict(db.execute("SELECT status, COUNT(*) FROM takeovers WHERE status IN ('waiting', 'taken') "
                                "GROUP BY status").fetchall())
    ratings = dict(db.execute("SELECT value, COUNT(*) FROM ratings GROUP BY value").fetchall())
    alerts = db.execute("SELECT status, COALESCE(delivery_status, 'none'), COUNT(*) FROM alerts "
                        "WHERE kind = 'alert' GROUP BY 1, 2").fetchall()
    replies = db.execute("SELECT COALESCE(source, ''), COUNT(*) FROM messages WHERE created_at >= ? "
                         "AND direction = 'out' GROUP BY 1", [midnight]).fetchall()
    return {"active_users": active,
            "open_takeovers": {status: takeovers.get(status, 0) for status in OPEN_TAKEOVERS},
            "ratings": {"good": ratings.get(1, 0), "bad": ratings.get(-1, 0)},
            "alerts": alerts, "replies_today": replies}


class StatsCollector:
    """A prometheus_client custom collector: register it on the backend's registry."""

    def __init__(self, store: Store, cache_s: float = CACHE_S):
        self.store, self.cache_s = store, cache_s
        self._lock = threading.Lock()
        self._figures: dict | None = None
        self._taken_at = 0.0
        self._cost_s = 0.0

    def describe(self):
        return []  # nothing to check at registration: the names are fixed, the values come at scrape

    def figures(self) -> dict:
        with self._lock:  # concurrent scrapes wait for one computation instead of each running it
            if self._figures is None or time.monotonic() - self._taken_at >= self.cache_s:
                started = time.perf_counter()
                self._figures = current_figures(self.store.db)
                self._cost_s = time.perf_counter() - started
                self._taken_at = time.monotonic()
            return self._figures

    def collect(self):
        figures = self.figures()
        active = GaugeMetricFamily("chasqui_active_users", "Contacts with an inbound message in the window",
                                   labels=["window"])
        for window, count in figures["active_users"].items():
            active.add_metric([window], count)
        takeovers = GaugeMetricFamily("chasqui_open_takeovers", "Conversations waiting for or held by an officer",
                                      labels=["status"])
        for status, count in figures["open_takeovers"].items():
            takeovers.add_metric([status], count)
        ratings = GaugeMetricFamily("chasqui_ratings", "Ratings of replies stored", labels=["value"])
        for value, count in figures["ratings"].items():
            ratings.add_metric([value], count)
        alerts = GaugeMetricFamily("chasqui_alerts", "Alerts stored, by queue status and delivery status",
                                   labels=["status", "delivery_status"])
        for status, delivery, count in figures["alerts"]:
            alerts.add_metric([status, delivery], count)
        replies = GaugeMetricFamily("chasqui_replies_today", "Replies since local midnight, by source",
                                    labels=["source", "group"])
        for source, count in figures["replies_today"]:
            replies.add_metric([source, group_of(source)], count)
        cost = GaugeMetricFamily("chasqui_stats_collect_seconds", "Seconds the last computation of these gauges took")
        cost.add_metric([], self._cost_s)
        yield from (active, takeovers, ratings, alerts, replies, cost)
