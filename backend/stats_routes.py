"""GET /stats: the dashboard's figures as JSON for other tools, behind the backend's bearer token
(BACKEND_TOKEN, checked for every route but /health and /admin by chasqui.request_hooks).

    GET /stats?from=YYYY-MM-DD&to=YYYY-MM-DD&domain=agro

Both dates are included and are the deployment's days (CHASQUI_TIMEZONE); without them, the last
30 days up to today. The body is backend.dashboard.figures(), the same as /admin/dashboard.json;
a date that is not one, `from` after `to`, more than 366 days or a domain no contact is in is a
400 in the services' error shape (chasqui.http_errors), with `param` naming the culprit.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend import dashboard
from backend.dashboard_period import BadPeriod, parse_period
from backend.store.database import Store
from chasqui.http_errors import bad_request


def create_stats_blueprint(store: Store) -> Blueprint:
    stats = Blueprint("stats", __name__)

    @stats.get("/stats")
    def figures():
        db = store.db
        try:
            period = parse_period(request.args, dashboard.domains(db))
        except BadPeriod as problem:
            raise bad_request(problem.message, problem.param) from None
        return jsonify(dashboard.figures(db, period))

    return stats
