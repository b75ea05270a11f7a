"""Reading request bodies with errors that name the field (shared by the backend's routes)."""
from __future__ import annotations

import re

from backend.contacts import Contact, find_contact
from backend.phones import InvalidPhone, normalize_phone
from chasqui.http_errors import ApiError, bad_request
from chasqui.http_input import EMPTY, parse_json_body


def json_object(required: bool = True) -> dict:
    body = parse_json_body(required)
    if body is EMPTY:
        return {}
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object", code="invalid_json")
    return body


def required_string(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"'{name}' is required and must be a non-empty string", name)
    return value


def optional_string(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string", name)
    return value


def required_phone(body: dict, name: str = "phone") -> str:
    """The phone in E.164, from either WhatsApp form ('51987654321@c.us' or '+51987654321')."""
    try:
        return normalize_phone(body.get(name))
    except InvalidPhone as problem:
        raise bad_request(str(problem), name, code="invalid_phone") from None


def domain_contact(db, raw_phone: object, domain: str, who: str) -> Contact:
    """The contact of `domain` named by a `?phone=` parameter: 400 for a bad number, 404 (code
    unknown_<who>) when no such contact of that domain exists."""
    try:
        phone = normalize_phone(raw_phone)
    except InvalidPhone as problem:
        raise ApiError(400, "invalid_phone", str(problem), "phone") from None
    contact = find_contact(db, phone)
    if contact is None or contact.domain != domain:
        raise ApiError(404, f"unknown_{who}", f"no {who} with phone {phone}", "phone")
    return contact


_CHANNEL = re.compile(r"[A-Za-z0-9._:-]{1,64}", re.ASCII)


def optional_channel(value: object, name: str = "channel") -> str:
    """A bridge's business number (a WhatsApp phone_number_id): letters, digits and . _ : -, at
    most 64; absent or empty means a bridge that serves every number."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _CHANNEL.fullmatch(value):
        raise bad_request(f"'{name}' must be a business number id: up to 64 letters, digits, '.', '_', ':' or '-'",
                          name)
    return value
