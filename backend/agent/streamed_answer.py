"""POST /agent for a bridge that asks for `application/x-ndjson`: the same answer, with a line
`{"event": "typing"}` first when a model starts writing (its first streamed token), so the bridge
shows "escribiendo…" at the moment the model really begins, also after a long wait for a slot.

A turn answered before any model token (code, onboarding, a refusal, a /chat server that does
not stream) gets the plain JSON answer and status, exactly as without the header. Once the
typing line is out the status is 200, so the end is a line of its own:
`{"event": "reply", …the answer…}` or `{"event": "error", "status": 503, "error": {…}}`."""
from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable

from flask import Response, copy_current_request_context, jsonify

from backend.agent.model_client import FIRST_TOKEN
from chasqui.http_errors import as_api_error

STREAM_TYPE = "application/x-ndjson"


def wants_stream(accept: str) -> bool:
    return STREAM_TYPE in accept


def streamed(work: Callable[[], dict]) -> Response:
    events: queue.Queue = queue.Queue()
    typing_said = threading.Event()

    def first_token() -> None:
        if not typing_said.is_set():
            typing_said.set()
            events.put(("typing", None))

    @copy_current_request_context
    def run() -> None:
        FIRST_TOKEN.set(first_token)
        try:
            events.put(("reply", work()))
        except Exception as problem:  # raised again in the request's thread, or written as a line
            events.put(("error", problem))

    threading.Thread(target=run, name="agent-turn", daemon=True).start()
    kind, value = events.get()
    if kind == "reply":
        return jsonify(value)
    if kind == "error":
        raise value  # the app's error handlers: the usual status and JSON body

    def lines():
        yield _line({"event": "typing"})
        while True:
            kind, value = events.get()
            if kind == "reply":
                yield _line({"event": "reply", **value})
                return
            if kind == "error":
                yield _line({"event": "error", **_error(value)})
                return
    return Response(lines(), mimetype=STREAM_TYPE, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _line(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False) + "\n"


def _error(problem: Exception) -> dict:
    error = as_api_error(problem)
    return {"status": error.status, **error.body()}
