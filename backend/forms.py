"""POST /form/update: a form submission, validated against its definition, stored once."""
from __future__ import annotations

import json
import sqlite3

import jsonschema
from flask import Blueprint, jsonify

from backend.contacts import find_contact
from backend.http_input import json_object, required_phone, required_string
from backend.store.database import Store, now, transaction
from chasqui.http_errors import ApiError, bad_request


def create_forms_blueprint(store: Store) -> Blueprint:
    blueprint = Blueprint("forms", __name__)

    @blueprint.post("/form/update")
    def form_update():
        body = json_object()
        phone = required_phone(body)
        form_name = required_string(body, "form")
        data = body.get("data")
        if not isinstance(data, dict):
            raise bad_request("'data' must be an object", "data")
        db = store.db
        contact = find_contact(db, phone)
        if contact is None:
            raise ApiError(404, "unknown_contact", f"no contact with phone {phone}")
        row = db.execute("SELECT id, schema FROM form_definitions WHERE name = ?", [form_name]).fetchone()
        if row is None:
            raise ApiError(404, "unknown_form", f"no form named {form_name!r}")
        try:
            jsonschema.validate(data, json.loads(row[1]), format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as problem:
            where = "/".join(str(p) for p in problem.absolute_path) or "data"
            raise bad_request(f"'data' does not fit form {form_name!r} at {where}: {problem.message}",
                              "data", code="invalid_form_data") from None
        with transaction(db) as connection:
            submission_id = save_submission(connection, form_name, contact.id, data, "api")
        return jsonify({"id": submission_id, "form": form_name}), 201

    return blueprint


def save_submission(connection: sqlite3.Connection, form_name: str, contact_id: int, data: dict, source: str) -> int:
    """One submission of a registered form, from the API or from a plug-in's chat action."""
    form_id = connection.execute("SELECT id FROM form_definitions WHERE name = ?", (form_name,)).fetchone()[0]
    cursor = connection.execute("INSERT INTO form_submissions (form_id, contact_id, data, source, created_at) "
                                "VALUES (?, ?, ?, ?, ?)",
                                (form_id, contact_id, json.dumps(data, ensure_ascii=False), source, now()))
    return cursor.lastrowid


def delete_submission(connection: sqlite3.Connection, contact_id: int, submission_id: int) -> None:
    """Takes back one of the contact's submissions (a chat report undone right after)."""
    connection.execute("DELETE FROM form_submissions WHERE id = ? AND contact_id = ?", (submission_id, contact_id))
