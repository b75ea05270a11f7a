"""Sending one generated request through a Flask test client and checking what every answer must
be, whatever was sent: never a 5xx; an error that is JSON (HTML on the admin's own pages) with a
message that says what is wrong. Every request is counted for bench/bad_input.py."""
from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from werkzeug.routing import Map

# Counted across the whole run: {service: {"requests", "accepted", "refused", "server_errors", "seconds"}}.
TALLY: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
# {(service, method, path without ids): {status: count}}: which statuses each route gave.
STATUSES: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
GENERIC_MESSAGES = {"internal error; see the service log", "", "error"}


@dataclass
class Sent:
    """A request as it was sent (to say in a failure what it was) and its answer."""
    service: str
    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    environ: dict = field(default_factory=dict)
    response: object = None
    note: str = ""  # what the generator meant to break

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def accepted(self) -> bool:
        return self.status < 400

    def __str__(self) -> str:
        body = self.body if self.body is None or len(self.body) < 300 else self.body[:300] + b"..."
        answer = self.response.get_data()[:400] if self.response is not None else b""
        return (f"{self.method} {self.path}{'?' + self.query[:200] if self.query else ''} headers={self.headers} "
                f"environ={self.environ} body={body!r} [{self.note}] -> {self.status} {answer!r}")


def send(client, service: str, method: str, path: str, query: str = "", body: bytes | None = None,
         headers: dict | None = None, environ: dict | None = None, note: str = "", **options) -> Sent:
    """One request; `options` go to the test client as they are (data= for forms, files)."""
    sent = Sent(service, method, path, query, body, dict(headers or {}), dict(environ or {}), note=note)
    started = time.perf_counter()
    sent.response = client.open(path, method=method, query_string=query or None,
                                data=body if body is not None else options.pop("data", None),
                                headers=sent.headers, environ_overrides=sent.environ, **options)
    sent.response.get_data()  # a streamed answer (SSE) is read to the end, inside the timing
    tally = TALLY[service]
    tally["requests"] += 1
    tally["seconds"] += time.perf_counter() - started
    tally["accepted" if sent.accepted else "refused"] += 1
    if sent.status >= 500:
        tally["server_errors"] += 1
    error = sent.response.get_json(silent=True) if sent.response.is_json else None
    code = error["error"].get("code") if isinstance(error, dict) and isinstance(error.get("error"), dict) else ""
    STATUSES[(service, method, _without_ids(path))][f"{sent.status} {code}".strip()] += 1
    return sent


def _without_ids(path: str) -> str:
    """'/alerts/12/sent' -> '/alerts/<id>/sent': any segment with a digit but the API version."""
    return "/".join("<id>" if re.search(r"\d", part) and part != "v1" else part for part in path.split("/"))


def assert_no_server_error(sent: Sent) -> None:
    assert sent.status < 500, f"server error: {sent}"


def assert_json_error(sent: Sent) -> dict:
    """A refusal is {"error": {"message": ...}} whose message says what is wrong (not a generic
    "error"), and names the parameter it gives, if it gives one."""
    assert sent.response.is_json, f"an error that is not JSON: {sent}"
    error = (sent.response.get_json(silent=True) or {}).get("error")
    assert isinstance(error, dict), f"no error object: {sent}"
    message = error.get("message")
    assert isinstance(message, str) and message.strip() not in GENERIC_MESSAGES and len(message) >= 10, \
        f"an error message that says nothing: {sent}"
    assert isinstance(error.get("code"), str) and error["code"], f"an error without a code: {sent}"
    return error


_HTML_PROBLEM = re.compile(r'class="[^"]*(alert-danger|invalid-feedback)[^"]*"[^>]*>\s*(?:<[^>]+>\s*)*\S', re.S)


def assert_html_error(sent: Sent) -> None:
    """An admin page that refuses says why on the page: a flashed error or a field's error."""
    content_type = sent.response.headers.get("Content-Type", "")
    assert content_type.startswith("text/html"), f"an admin refusal that is not a page: {sent}"
    assert _HTML_PROBLEM.search(sent.response.get_data(as_text=True)), f"an admin refusal that says nothing: {sent}"


def assert_answer(sent: Sent, html_prefix: str | None = None, routes: Map | None = None) -> None:
    """No 5xx; a refusal explains itself. Under `html_prefix` (the admin) a refusal by one of the
    panel's own views is a page; a refusal before any view ran (no such route or method: 404, 405)
    is the app's JSON error like everywhere else."""
    assert_no_server_error(sent)
    if sent.accepted or sent.method == "HEAD":
        return
    if html_prefix and sent.path.startswith(html_prefix) and routes is not None and _matches(routes, sent):
        assert_html_error(sent)
    else:
        assert_json_error(sent)


def _matches(routes: Map, sent: Sent) -> bool:
    try:
        routes.bind("localhost").match(sent.path, sent.method)
    except Exception:  # NotFound, MethodNotAllowed, RequestRedirect: decided before any view
        return False
    return True


def rules(app, skip_prefixes: tuple[str, ...] = ()) -> list:
    """The app's routes (not static files), as werkzeug rules: what the suite covers, found from
    the app itself so that a route added later is covered too."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static") or rule.rule.startswith(skip_prefixes):
            continue
        found.append(rule)
    return sorted(found, key=lambda r: (r.rule, sorted(r.methods)))


def route_table(app, skip_prefixes: tuple[str, ...] = ()) -> set[tuple[str, str]]:
    """{(method, rule)} without HEAD and OPTIONS, which werkzeug adds by itself."""
    return {(method, rule.rule) for rule in rules(app, skip_prefixes) for method in rule.methods
            if method not in ("HEAD", "OPTIONS")}
