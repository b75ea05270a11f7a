"""How stored values read on the panel's pages (Jinja filters)."""
from __future__ import annotations

import json
from datetime import datetime

from flask import g, has_request_context

from backend.dashboard_period import deployment_zone


def local_time(seconds: float | None) -> str:
    """Unix seconds (REAL, as stored) as a date and time in the deployment's zone (CHASQUI_TIMEZONE,
    read by backend/dashboard_period.py; default America/Lima). The zone is named once, in the
    page's footer (layout.html), on every page that showed a time."""
    if seconds is None:
        return "—"
    zone = deployment_zone()
    if has_request_context():
        g.chasqui_time_zone = zone
    return datetime.fromtimestamp(float(seconds), zone).strftime("%Y-%m-%d %H:%M:%S")


def shown_time_zone() -> str | None:
    """'Hora de Lima (UTC−5)' when this page showed a time (local_time), else None."""
    from admin.i18n import zone_label  # here: i18n imports the panel, which imports this module

    zone = g.get("chasqui_time_zone") if has_request_context() else None
    return zone_label(zone) if zone is not None else None


def pretty_json(text: str | None) -> str:
    """A stored JSON column, indented for reading; left as is when it does not parse."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        return text


def from_json(text: str | None) -> dict:
    """A stored JSON object column as a dict; {} when it is empty or does not parse as one."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


FILTERS = {"local_time": local_time, "pretty_json": pretty_json, "from_json": from_json}
