"""Every HTTP input of the backend (its API routes; the admin panel has test_admin_inputs.py), with
bad bodies, headers, query strings and path parameters, and valid bodies with one field broken.

Per request: no 5xx; a refusal is JSON that says what is wrong (and names the broken field); the
SQLite file passes integrity_check and a refusal added no row; after an accepted input every
plug-in's contact still gets normal replies and every scheduled job runs without error."""
from __future__ import annotations

from io import BytesIO

from hypothesis import given, settings, strategies as st

from backend.phones import InvalidPhone, normalize_phone
from tests.backend.conftest import AUTH, TOKEN
from tests.robustness import strategies as bad
from tests.robustness.backend_examples import EXAMPLES, GARMIN_CSV, Example
from tests.robustness.harness import Sent, assert_answer, assert_json_error, route_table, rules, send
from tests.robustness.worlds import AGRO, DOMAIN_QUESTIONS, NOTES, ONBOARDING, RUNNER, check_backend_request

EXPECTED_ROUTES = {
    ("GET", "/health"), ("GET", "/metrics"), ("POST", "/agent"), ("POST", "/form/update"), ("POST", "/alert"),
    ("GET", "/alerts/pending"), ("POST", "/alerts/<int:alert_id>/sent"), ("GET", "/alerts/<int:alert_id>/image"),
    ("POST", "/alerts/<int:alert_id>/release"), ("POST", "/alerts/<int:alert_id>/failed"), ("POST", "/alerts/delivery"),
    ("GET", "/agro/plots"), ("POST", "/agro/plots"), ("POST", "/running/import/garmin"), ("POST", "/agent/voice"),
}
ADMIN = ("/admin",)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def api_rules(world):
    return rules(world.app, skip_prefixes=ADMIN)


def phones_named(example: Example, body: object = None, query: list | None = None) -> tuple[str, ...]:
    """The contacts a request names (its body's or query's phone), for the after-checks."""
    raw = [example.phones, [body.get("phone")] if isinstance(body, dict) else [],
           [value for name, value in (query or []) if name == "phone"]]
    found = []
    for value in (v for group in raw for v in group):
        try:
            found.append(normalize_phone(value))
        except InvalidPhone:
            pass
    return tuple(dict.fromkeys(found))


def sender(world, method: str, rule: str, example: Example, body=None, headers=None, environ=None, query=None,
           path=None, note: str = ""):
    """A function that sends the example with the given parts replaced (for check_backend_request)."""
    def go() -> Sent:
        payload = example.body if body is None else body
        raw = payload if isinstance(payload, bytes) or payload is None else bad.body_bytes(payload)
        sent_headers = dict(AUTH) if headers is None else headers
        if headers is None and example.content_type:
            sent_headers["Content-Type"] = example.content_type
        return send(world.client, "backend", method, bad.route_path(rule, path if path is not None else example.path),
                    bad.encode_query(query if query is not None else example.query), raw, sent_headers, environ,
                    note=note)
    return go


def draw_example(data, world, key) -> Example:
    """One of the route's valid examples, made now (alerts are claimed fresh for each)."""
    choices = EXAMPLES[key](world)
    return choices[data.draw(st.integers(0, len(choices) - 1), label="example")]()


# -- the routes -------------------------------------------------------------------------------------

def test_the_enumeration_finds_the_routes(backend_world):
    found = route_table(backend_world.app, ADMIN)
    assert EXPECTED_ROUTES <= found, EXPECTED_ROUTES - found


def test_every_route_has_a_valid_example(backend_world):
    """A new route is fuzzed at once by the generic tests; this asks for its valid example too."""
    missing = route_table(backend_world.app, ADMIN) - set(EXAMPLES)
    assert not missing, f"add a valid example to tests/robustness/backend_examples.py for {sorted(missing)}"


def test_every_example_is_accepted(backend_world):
    """The starting points are valid: otherwise every mutation of them is refused for nothing."""
    for (method, rule), make in EXAMPLES.items():
        for example in (choice() for choice in make(backend_world)):
            sent = check_backend_request(backend_world, sender(backend_world, method, rule, example),
                                         phones_named(example))
            assert sent.status in (200, 201, 404 if rule.endswith("/image") else 200), str(sent)


# -- bad input everywhere ------------------------------------------------------------------------------

@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(1.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_bad_bodies_on_every_route(backend_world, data):
    rule = data.draw(st.sampled_from(api_rules(backend_world)), label="rule")
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    method = data.draw(st.sampled_from(methods) | st.sampled_from(METHODS), label="method")
    example = draw_example(data, backend_world, (methods[0], rule.rule))
    body = data.draw(bad.bad_bodies(), label="body")
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", None, "multipart/form-data"]))
    # The bridge asks /agent for NDJSON (a "typing" line at the model's first token): a refusal is the same JSON.
    accept = data.draw(st.sampled_from([None, "application/x-ndjson, application/json", "application/x-ndjson"]))
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {}), **({"Accept": accept} if accept else {})}
    check_backend_request(backend_world, sender(backend_world, method, rule.rule, example, body=body, headers=headers),
                          phones_named(example))


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(2), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_one_field_broken_in_a_valid_body(backend_world, data):
    # Bodies that are not JSON (a CSV file, a voice note's multipart) have no fields to break one of.
    keys = sorted(key for key in EXAMPLES if key[0] == "POST" and key[1] not in ("/running/import/garmin", "/agent/voice"))
    method, rule = data.draw(st.sampled_from(keys), label="route")
    example = draw_example(data, backend_world, (method, rule))
    body, mutation = data.draw(bad.mutated(example.body), label="mutation")
    sent = check_backend_request(backend_world, sender(backend_world, method, rule, example, body=body,
                                                       note=mutation.describe()),
                                 phones_named(example, body))
    if sent.status == 400:
        assert_names_the_field(sent, mutation)


def assert_names_the_field(sent: Sent, mutation: bad.Mutation) -> None:
    """A 400 for one broken field says which field (unless the body is no longer JSON at all)."""
    error = assert_json_error(sent)
    if error["code"] == "invalid_json" or not mutation.path:
        return
    said = f"{error.get('param')} {error['message']}"
    names = [str(part) for part in mutation.path if isinstance(part, str)]
    assert any(name and name in said for name in names) or mutation.kind == "added", \
        f"the refusal does not name {mutation.describe()}: {sent}"


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_bad_query_strings(backend_world, data):
    rule = data.draw(st.sampled_from(api_rules(backend_world)), label="rule")
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    example = draw_example(data, backend_world, (method, rule.rule))
    names = [name for name, _ in example.query] + ["limit", "wait", "phone", "after", "q"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(names), bad.query_value()), max_size=4), label="query")
    if data.draw(st.booleans(), label="keep valid pairs"):
        pairs = example.query + pairs  # a repeated parameter: which one wins?
    check_backend_request(backend_world, sender(backend_world, method, rule.rule, example, query=pairs),
                          phones_named(example, query=pairs))


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_bad_path_parameters(backend_world, data):
    with_parameters = [rule for rule in api_rules(backend_world) if rule.arguments]
    rule = data.draw(st.sampled_from(with_parameters), label="rule")
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    example = draw_example(data, backend_world, (method, rule.rule))
    path = {name: data.draw(bad.path_id(), label=name) for name in example.path}
    sent = check_backend_request(backend_world, sender(backend_world, method, rule.rule, example, path=path),
                                 phones_named(example))
    if sent.accepted:  # only an id written in ASCII digits names an alert
        assert all(value.isascii() and value.isdigit() for value in path.values()), str(sent)


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_bad_headers(backend_world, data):
    rule = data.draw(st.sampled_from(api_rules(backend_world)), label="rule")
    method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    example = draw_example(data, backend_world, (method, rule.rule))
    headers, environ = data.draw(bad.headers(TOKEN, valid_auth_share=0.5), label="headers")
    sent = check_backend_request(backend_world, sender(backend_world, method, rule.rule, example, headers=headers,
                                                       environ=environ), phones_named(example))
    if rule.rule != "/health" and headers.get("Authorization") != f"Bearer {TOKEN}":
        assert sent.status == 401, str(sent)


# -- what people type -----------------------------------------------------------------------------------

NUMBERS = ["99999999", "-3", "0", "1e999", "NaN", "፩", "１２", "٣", "0,0001", "1.5.5", "9" * 25, "2,5"]
DATES = ["hace 99999999 años", "hace 99999999 días", "2026-13-45", "45/13/2026", "el 31 de febrero", "mañana",
         "hace 0 días", "en 3 años", "ayer", "el 1/1/1", "00/00/0000", "29/02/2027"]
REPORTS = {
    AGRO: ["ayer regué {n} horas", "hoy regué {n} mm el lote 1", "llovió {n} mm {d}", "vi gusano cogollero {d}",
           "sembré papa {d}", "coseché el lote 1 {d}", "el lote 1 es de suelo arenoso", "riego por goteo {n} mm/h",
           "sembré papa en el lote {n} {d}", "tengo {n} hectáreas"],
    RUNNER: ["hoy corrí {n} km en {n} minutos", "corrí {n} km {d}", "mi carrera es {d}", "me duele la rodilla {d}",
             "hice 5K en {n}:{n}", "quiero correr {n} días por semana", "tengo {n} años"],
    NOTES: ["anota: {n} {d}", "guarda una nota: {n}"],
}


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(1.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_chat_reports_with_bad_numbers_and_dates(backend_world, data):
    """A report by chat with an impossible figure is read back, refused or asked about; then «sí»
    confirms whatever was asked; neither breaks the contact's next answers."""
    domain = data.draw(st.sampled_from(sorted(REPORTS)), label="domain")
    template = data.draw(st.sampled_from(REPORTS[domain]), label="template")
    text = template.format(n=data.draw(st.sampled_from(NUMBERS)), d=data.draw(st.sampled_from(DATES)))
    # A fresh contact each time: recalling a long history of near-identical messages is slow.
    phone = backend_world.new_contact(domain)
    for message, last in ((text, False), ("sí", True)):
        body = {"phone": phone, "message": message}
        check_backend_request(backend_world, sender(backend_world, "POST", "/agent", Example(body), note=message),
                              (phone,), serve=last)
    backend_world.reply(phone, DOMAIN_QUESTIONS[domain])


@st.composite
def one_word_replaced(draw, text: str) -> str:
    """The valid answer with one of its words (a figure, a date, a place) replaced by a bad one:
    «maíz en Huaral, 1 ha, sembré hace 99999999 años…» gets past everything but that one word."""
    words = text.split(" ")
    index = draw(st.integers(0, len(words) - 1))
    words[index] = draw(st.sampled_from(NUMBERS + DATES + bad.NON_ASCII_DIGITS + bad.IMPOSSIBLE_DATES))
    return " ".join(words)


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(1.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_bad_onboarding_answers(backend_world, data):
    """A new contact answers one onboarding question badly, then finishes onboarding as usual and
    asks its plug-in's question: a bad answer is asked again, never kept to break what follows."""
    template_phone = data.draw(st.sampled_from(sorted(ONBOARDING)), label="domain")
    answers = ONBOARDING[template_phone]
    step = data.draw(st.integers(1, len(answers) - 1), label="step")
    answer = data.draw(st.one_of(st.sampled_from(NUMBERS + DATES + bad.NON_ASCII_DIGITS + bad.TEXTS[:20]),
                                 st.text(min_size=1, max_size=20), one_word_replaced(answers[step])), label="answer")
    phone = f"+5197{backend_world.unique():07d}"
    for text in answers[:step]:
        backend_world.reply(phone, text)
    check_backend_request(backend_world, sender(backend_world, "POST", "/agent",
                                                Example({"phone": phone, "message": answer}), note=answer), (phone,))
    for text in answers[step:]:  # repeated answers, when the bad one was taken, are read as the next ones
        backend_world.reply(phone, text)
    backend_world.reply(phone, DOMAIN_QUESTIONS[template_phone])


# -- the Garmin import: a CSV with one cell broken ------------------------------------------------------

@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(0.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_garmin_export_with_one_cell_broken(backend_world, data):
    lines = GARMIN_CSV.decode("utf-8").splitlines()
    row = data.draw(st.integers(0, len(lines) - 1), label="line")
    cells = lines[row].split(",")
    column = data.draw(st.integers(0, len(cells) - 1), label="column")
    cells[column] = data.draw(bad.form_value(), label="cell")
    lines[row] = ",".join(cells)
    csv = "\n".join(lines).encode("utf-8", "surrogatepass")
    as_file = data.draw(st.booleans(), label="multipart")
    query = [("phone", RUNNER)]
    if as_file:
        def go() -> Sent:
            return send(backend_world.client, "backend", "POST", "/running/import/garmin",
                        bad.encode_query(query), None, AUTH, note=f"line {row} column {column}",
                        data={"file": (BytesIO(csv), "activities.csv")}, content_type="multipart/form-data")
    else:
        go = sender(backend_world, "POST", "/running/import/garmin", Example(csv, query=query, content_type="text/csv"),
                    note=f"line {row} column {column}")
    check_backend_request(backend_world, go, (RUNNER,))


def test_the_wait_parameter_is_bounded(backend_world, long_polls):
    """The long poll's own bound: whatever `wait` says, the route never asks for more than 30 s."""
    for wait in ("30", "29.5", "0", "1e1", "2.5e1"):
        sent = send(backend_world.client, "backend", "GET", "/alerts/pending", f"wait={wait}", headers=AUTH)
        assert_answer(sent)
        assert sent.status == 200
    assert long_polls and max(long_polls) <= 30
