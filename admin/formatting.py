"""How stored values read on the panel's pages (Jinja filters)."""
from __future__ import annotations

import json
from datetime import datetime


def local_time(seconds: float | None) -> str:
    """Unix seconds (REAL, as stored) as the server's local date and time; set TZ to change the zone."""
    if seconds is None:
        return "—"
    return datetime.fromtimestamp(float(seconds)).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


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
