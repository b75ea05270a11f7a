"""Field reports: irrigation done, rain measured, a pest seen, sowing, harvest. They are form
submissions (the core's form_submissions table), so a report made by chat and one posted to
/form/update are the same thing to the water balance and the pest signal."""
from __future__ import annotations

import json
import logging
from datetime import date

import jsonschema

from backend.plugin_api import core, Database

log = logging.getLogger(__name__)


# "format": a real calendar day (2026-13-45 fits the pattern; one such report made the pest signal
# fail on every run): checked by jsonschema's FormatChecker wherever a submission is validated.
DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"}
PLOT = {"type": "string", "minLength": 1, "maxLength": 40}
FORMS = {
    "riego": {"type": "object", "properties": {"lote": PLOT, "fecha": DATE,
                                               "horas": {"type": "number", "exclusiveMinimum": 0, "maximum": 72},
                                               "mm": {"type": "number", "exclusiveMinimum": 0, "maximum": 500}},
              "required": ["fecha"], "anyOf": [{"required": ["horas"]}, {"required": ["mm"]}],
              "additionalProperties": False},
    "lluvia": {"type": "object", "properties": {"fecha": DATE, "mm": {"type": "number", "minimum": 0, "maximum": 500}},
               "required": ["fecha", "mm"], "additionalProperties": False},
    "plaga": {"type": "object", "properties": {"lote": PLOT, "fecha": DATE,
                                               "plaga": {"type": "string", "minLength": 2, "maxLength": 60}},
              "required": ["fecha", "plaga"], "additionalProperties": False},
    "siembra": {"type": "object", "properties": {"lote": PLOT, "fecha": DATE,
                                                 "cultivo": {"type": "string", "minLength": 2, "maxLength": 40}},
                "required": ["fecha", "cultivo"], "additionalProperties": False},
    "cosecha": {"type": "object", "properties": {"lote": PLOT, "fecha": DATE},
                "required": ["fecha"], "additionalProperties": False},
}


def reports(connection: Database, form: str, contact_id: int | None = None,
            since: date | None = None) -> list[tuple[int, dict]]:
    """(contact id, data) of one form's submissions, oldest first; by report date when `since`.
    A stored row that no longer fits its form (written before a check existed, or by hand) is
    skipped with a warning that names it: one bad report must not stop a producer's advice or the
    pest signal for everyone."""
    rows = []
    for submission_id, contact, data in core.submissions(connection, form, contact_id):
        try:
            parsed = json.loads(data)
            jsonschema.validate(parsed, FORMS[form], format_checker=jsonschema.FormatChecker())
        except (ValueError, jsonschema.ValidationError) as problem:
            log.warning("report skipped: it does not fit its form",
                        extra={"submission_id": submission_id, "form": form, "error": str(problem)[:200]})
            continue
        rows.append((contact, parsed))
    if since is not None:
        rows = [(contact, data) for contact, data in rows if data.get("fecha", "") >= since.isoformat()]
    return rows


def for_plot(data: dict, plot_name: str, first_plot: bool) -> bool:
    """A report names its plot ("lote 2"), or belongs to the first one: most producers have one."""
    named = data.get("lote")
    if named is None:
        return first_plot
    return named.strip().lower() == plot_name.lower()
