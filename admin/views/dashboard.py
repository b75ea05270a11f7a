"""The panel's first page: the dashboard's figures (backend.dashboard) as charts, filtered by date
range and domain through the query string, and the same figures at /admin/dashboard.json.

Charts are drawn by Chart.js 4 (admin/static/vendor, MIT, the most used canvas charting library:
one 205 kB file, no dependencies, no eval, nothing fetched from elsewhere) from a small script
of ours (admin/static/dashboard.js). The figures and the charts' translated labels travel in
the page as JSON blocks, which the CSP lets through (they are data, not scripts); each chart also
has its numbers as a table, shown when no script runs (old phones, scripts off).
"""
from __future__ import annotations

from flask import jsonify, request
from flask_admin import expose
from flask_babel import gettext as _

from admin.auth import PanelView
from backend import dashboard
from backend.dashboard_period import BadPeriod, default_period, deployment_zone, parse_period
from chasqui.http_errors import bad_request


def dashboard_page(view) -> str:
    """What HomeView.index renders at /admin."""
    db = view.store.db
    domains = dashboard.domains(db)
    zone = deployment_zone()
    problem = None
    try:
        period = parse_period(request.args, domains, zone)
    except BadPeriod as refused:
        problem = _("%(problem)s. Showing the last 30 days instead.", problem=refused.message)
        period = default_period(zone)
    figures, labels = dashboard.figures(db, period), chart_labels()
    return view.render("chasqui/dashboard.html", figures=figures, labels=labels, tables=tables(figures, labels),
                       period=period, domains=domains, problem=problem, counts=stored_counts(db),
                       alerts=dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall()))


def stored_counts(db) -> dict:
    """What the first page showed before it had charts: how much is stored."""
    return {
        _("contacts"): db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0],
        _("messages"): db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
        _("knowledge entries"): db.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0],
    }


def chart_labels() -> dict:
    """Every word the charts show, translated here: dashboard.js writes none of its own."""
    return {
        "no_domain": _("no domain yet"),
        "total": _("all domains"),
        "new": _("new users"), "onboarded": _("finished onboarding"),
        "groups": {"code": _("code"), "model": _("model"), "cache": _("cache"), "apology": _("apology"),
                   "officer": _("officer"), "other": _("other")},
        "p50": _("median (p50)"), "p95": _("p95"), "seconds": _("seconds"),
        "good": _("good"), "bad": _("bad"),
        "alerts": {"created": _("created"), "sent": _("sent"), "delivered": _("delivered"), "read": _("read"),
                   "failed": _("failed")},
    }


def tables(figures: dict, labels: dict) -> dict:
    """(column heads, rows) of each chart's numbers, by the id of its canvas."""
    f, days = figures, figures["days"]

    def by_day(*columns):
        return [list(row) for row in zip(days, *columns)]

    messages = f["messages_per_day"]
    alerts = f["alerts"]["per_day"]
    return {
        "chart-messages": ([_("Day"), *(d or labels["no_domain"] for d in messages["by_domain"]), labels["total"]],
                           by_day(*messages["by_domain"].values(), messages["total"])),
        "chart-new-users": ([_("Day"), labels["new"], labels["onboarded"]],
                            by_day(f["new_users"]["new"], f["new_users"]["onboarded"])),
        "chart-sources": ([_("Source"), _("Replies")],
                          [[labels["groups"][group], n] for group, n in f["replies_by_source"]["groups"].items()]
                          + [[_("all"), f["replies_by_source"]["total"]]]),
        "chart-reply-time": ([_("Day"), labels["p50"], labels["p95"], _("Replies")],
                             by_day(f["reply_seconds"]["p50"], f["reply_seconds"]["p95"], f["reply_seconds"]["replies"])),
        "chart-ratings": ([_("Day"), labels["good"], labels["bad"]], by_day(f["ratings"]["good"], f["ratings"]["bad"])),
        "chart-alerts": ([_("Day"), *(labels["alerts"][name] for name in dashboard.ALERT_COUNTS)],
                         by_day(*(alerts[name] for name in dashboard.ALERT_COUNTS))),
    }


class DashboardJsonView(PanelView):
    """/admin/dashboard.json: the page's figures for the signed-in panel (GET /stats is the same
    for tools, with the backend's token)."""

    def is_visible(self) -> bool:
        return False  # not a page: no menu entry

    @expose("")
    def index(self):
        db = self.store.db
        try:
            period = parse_period(request.args, dashboard.domains(db))
        except BadPeriod as problem:
            raise bad_request(problem.message, problem.param) from None
        return jsonify(dashboard.figures(db, period))


# flask-admin wants a view's default page at "/", which would put the JSON at /admin/dashboard.json/
# (and a redirect at the name tools use); "" serves it at /admin/dashboard.json itself.
DashboardJsonView._default_view = "index"
