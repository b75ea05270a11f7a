"""Reading a request's JSON body by hand, whatever its Content-Type says, with one strict parser
for the three services: malformed JSON, and JSON that Python parses but nothing after it can use,
are a clear 400 that says what is wrong.

The standard library's json accepts NaN and Infinity (jsonschema's range checks are all false for
NaN, so a NaN passed every bound), turns 1e999 into inf, builds an int of thousands of digits
(then refuses to print it: ValueError), recurses until RecursionError on ~1,000 nested arrays, and
keeps lone surrogates ("\\ud800") that SQLite and UTF-8 cannot store. `loads_strict` refuses each
of them at parse time."""
from __future__ import annotations

import json
import math

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from chasqui.http_errors import bad_request

EMPTY = object()
MAX_NUMBER_DIGITS = 30  # far past any id (SQLite's integers have 19 digits) or measurement
MAX_DEPTH = 32  # the deepest body any route takes (a WhatsApp webhook) nests 8 levels
SQLITE_MAX_INTEGER = 2 ** 63 - 1


class InvalidJson(ValueError):
    """The body is not JSON, or is JSON no route can use; the message says which."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidJson(f"a number with {len(text)} digits; numbers may have at most {MAX_NUMBER_DIGITS}")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise InvalidJson(f"a number written with {len(text)} characters is too long")
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"the number {text[:20]} is too large")
    return value


def _constant(name: str) -> float:
    raise InvalidJson(f"{name} is not a JSON number")


def is_text(value: str) -> bool:
    """Encodes as UTF-8 (no lone surrogates) and holds no NUL: PostgreSQL's text cannot store one,
    and nobody types it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _check(value: object, depth: int = 0) -> None:
    """Depth and text that encodes as UTF-8, everywhere in the parsed body."""
    if depth > MAX_DEPTH:
        raise InvalidJson(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        if not is_text(value):
            raise InvalidJson("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff) or a NUL (\\u0000), "
                              "which is not text")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def loads_strict(raw: bytes | str, check_text: bool = True) -> object:
    """`check_text=False` leaves lone surrogates for the caller to skip part by part (a webhook
    acknowledges what it can read)."""
    try:
        value = json.loads(raw, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson(f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    except (UnicodeDecodeError, ValueError) as problem:  # json.JSONDecodeError is a ValueError
        raise InvalidJson(f"malformed JSON: {problem}") from None
    if check_text:
        _check(value)
    return value


def parse_json_body(required: bool = True) -> object:
    """The parsed body; EMPTY when there is none and none is required."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        if required:
            raise bad_request("the body is empty; send a JSON object", code="invalid_json")
        return EMPTY
    try:
        return loads_strict(raw)
    except InvalidJson as problem:
        raise bad_request(str(problem), code="invalid_json") from None


def row_id(text: str | None) -> int | None:
    """An id read from a query string ("?contact=12"), or None when the text names no row: ASCII
    digits only, at most SQLite's largest integer (int() takes "١٢" and thirty digits alike, and
    a 30-digit id was an OverflowError in the query: a 500)."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= SQLITE_MAX_INTEGER else None


class RowIdConverter(IntegerConverter):
    """`<int:…>` in a route's path, as an id: ASCII digits only and at most SQLite's largest
    integer. Werkzeug's own takes any Unicode digit ("/alerts/١٢/sent" and "/admin/contacts/１２"
    named row 12) and any size (a 20-digit id was an OverflowError in the query: a 500). Anything
    else does not match the route, so it is the app's usual 404."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False):
        super().__init__(map, fixed_digits, min, SQLITE_MAX_INTEGER if max is None else max, signed)


def install_row_ids(app: Flask) -> None:
    """Before any route is added: every `<int:…>` of `app` (and of its blueprints) is a RowId."""
    app.url_map.converters["int"] = RowIdConverter
