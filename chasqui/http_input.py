"""Reading a request's JSON body by hand, whatever its Content-Type says, so malformed JSON is a
clear 400 that quotes the parser's complaint."""
from __future__ import annotations

import json

from flask import request

from chasqui.http_errors import bad_request

EMPTY = object()


def parse_json_body(required: bool = True) -> object:
    """The parsed body; EMPTY when there is none and none is required."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        if required:
            raise bad_request("the body is empty; send a JSON object", code="invalid_json")
        return EMPTY
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise bad_request(f"malformed JSON: {problem}", code="invalid_json") from None
