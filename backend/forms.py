"""POST /form/update: a form submission, validated against its definition, stored once."""
from __future__ import annotations

import json

import jsonschema
from flask import Blueprint, jsonify
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from backend.contacts import find_contact
from backend.http_input import json_object, required_phone, required_string
from backend.store.database import Database, now, Store, transaction
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
            problem = best_match(submission_validator(json.loads(row[1])).iter_errors(data))
        except (Unresolvable, jsonschema.SchemaError, ValueError) as broken:  # stored before the panel checked it
            raise ApiError(500, "form_definition_broken", f"form {form_name!r} has a schema that cannot be used "
                           f"({type(broken).__name__}: {str(broken)[:200]}); fix it in the admin panel") from None
        if problem is not None:
            where = "/".join(str(p) for p in problem.absolute_path) or "data"
            raise bad_request(f"'data' does not fit form {form_name!r} at {where}: {problem.message}",
                              "data", code="invalid_form_data")
        with transaction(db) as connection:
            submission_id = save_submission(connection, form_name, contact.id, data, "api")
        return jsonify({"id": submission_id, "form": form_name}), 201

    return blueprint


def submission_validator(schema: dict):
    """The validator for a form's submissions: real calendar dates (format), and $refs resolved
    only inside the schema, never fetched from the network (an empty registry: jsonschema's own
    would fetch a remote $ref on each submission)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=jsonschema.FormatChecker(), registry=Registry())


def reference_problem(schema: dict) -> str | None:
    """Why a $ref of this schema cannot be followed, or None. Only references to its own parts
    ("#/$defs/fecha") are taken: one that points elsewhere or at nothing failed every submission."""
    resolver = Registry().with_resource(_ROOT, Resource.from_contents(schema, default_specification=DRAFT202012)) \
        .resolver(_ROOT)
    for ref in _references(schema):
        if not ref.startswith("#"):
            return f"$ref {ref[:100]!r} points outside the schema; only references to its own parts ('#/...') work"
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return f"$ref {ref[:100]!r} points at nothing in the schema"
    return None


_ROOT = "urn:chasqui:form"


def _references(schema: object) -> list[str]:
    if isinstance(schema, dict):
        found = [v for k, v in schema.items() if k in ("$ref", "$dynamicRef") and isinstance(v, str)]
        for key, value in schema.items():
            if key not in ("enum", "const", "default", "examples"):
                found += _references(value)
        return found
    if isinstance(schema, list):
        return [ref for item in schema for ref in _references(item)]
    return []


def save_submission(connection: Database, form_name: str, contact_id: int, data: dict, source: str) -> int:
    """One submission of a registered form, from the API or from a plug-in's chat action."""
    form_id = connection.execute("SELECT id FROM form_definitions WHERE name = ?", (form_name,)).fetchone()[0]
    new_id = connection.insert("INSERT INTO form_submissions (form_id, contact_id, data, source, created_at) "
                                "VALUES (?, ?, ?, ?, ?)",
                                (form_id, contact_id, json.dumps(data, ensure_ascii=False), source, now()))
    return new_id


def delete_submission(connection: Database, contact_id: int, submission_id: int) -> None:
    """Takes back one of the contact's submissions (a chat report undone right after)."""
    connection.execute("DELETE FROM form_submissions WHERE id = ? AND contact_id = ?", (submission_id, contact_id))


def submissions(connection: Database, form_name: str, contact_id: int | None = None) -> list[tuple]:
    """(submission id, contact id, data as stored: JSON text) of one form, oldest first."""
    sql = ("SELECT s.id, s.contact_id, s.data FROM form_submissions s JOIN form_definitions d ON d.id = s.form_id "
           "WHERE d.name = ?")
    params: list = [form_name]
    if contact_id is not None:
        sql += " AND s.contact_id = ?"
        params.append(contact_id)
    return [tuple(row) for row in connection.execute(sql + " ORDER BY s.id", params)]


def count_submissions(connection: Database, form_name: str, contact_id: int) -> int:
    return connection.execute("SELECT COUNT(*) FROM form_submissions s JOIN form_definitions d ON d.id = s.form_id "
                              "WHERE d.name = ? AND s.contact_id = ?", [form_name, contact_id]).fetchone()[0]
