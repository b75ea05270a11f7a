"""Every input of the admin panel (/admin on the backend): its forms posted with one field broken,
without or with a wrong CSRF token, its pages with bad query strings and path ids, the login.

Per request: no 5xx; a refusal by one of the panel's pages is a page that says why (a flashed
error or a field's error), one before any page ran (no such route) the backend's JSON error; the
SQLite file is intact and a refusal added no row (a wrong password counts in the login throttle:
that row is the refusal's own record); after an accepted post the contacts still get normal
replies and every job runs."""
from __future__ import annotations

import itertools
import json
from io import BytesIO

import pytest
from hypothesis import given, settings, strategies as st

from admin.users import create_user
from backend import ratings, takeovers
from backend.store.database import transaction
from backend.plugins.example import NOTE_FORM
from tests.admin.conftest import csrf_token
from tests.backend.conftest import AUTH
from tests.robustness import strategies as bad
from tests.robustness.backend_examples import GARMIN_CSV
from tests.robustness.harness import Sent, assert_answer, route_table, rules, send
from tests.robustness.worlds import (ADMIN_PASSWORD, ADMIN_USER, AGRO, NOTES, RUNNER, BackendWorld,
                                     check_backend_request)

ADMIN = "/admin"
FORM = "application/x-www-form-urlencoded"
EXPECTED_ROUTES = {
    ("GET", "/admin/"), ("GET", "/admin/login"), ("POST", "/admin/login"), ("POST", "/admin/logout"),
    ("GET", "/admin/contacts/"), ("GET", "/admin/contacts/<int:contact_id>"), ("POST", "/admin/contacts/<int:contact_id>"),
    ("GET", "/admin/conversations/"), ("GET", "/admin/alerts/"), ("GET", "/admin/alerts/new"),
    ("POST", "/admin/alerts/new"), ("GET", "/admin/forms/"), ("GET", "/admin/forms/<int:form_id>"),
    ("POST", "/admin/forms/<int:form_id>"), ("GET", "/admin/knowledge/"), ("GET", "/admin/knowledge/new"),
    ("POST", "/admin/knowledge/new"), ("GET", "/admin/knowledge/<int:entry_id>"),
    ("POST", "/admin/knowledge/<int:entry_id>"), ("POST", "/admin/knowledge/<int:entry_id>/delete"),
    ("GET", "/admin/agro/plots/"), ("POST", "/admin/agro/plots/"), ("GET", "/admin/running/garmin/"),
    ("POST", "/admin/running/garmin/"),
}


class Panel:
    """A signed-in panel client, with the CSRF token its session signs."""

    def __init__(self, world: BackendWorld):
        self.world = world
        self.client = signed_in_client(world)
        self.token = csrf_token(self.client.get("/admin/knowledge/new").get_data(as_text=True))

    def knowledge_entry(self) -> int:
        return self.world.db.insert(
            "INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES ('agro', 'Riego', "
            "'El maíz necesita agua en floración.', 'admin', 0)")

    def contact_id(self, phone: str) -> int:
        return self.world.db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]

    def form_id(self, name: str) -> int:
        return self.world.db.execute("SELECT id FROM form_definitions WHERE name = ?", [name]).fetchone()[0]

    def takeover(self, taken: bool) -> int:
        """A fresh conversation waiting for a person (or already taken by the signed-in admin)."""
        contact = self.contact_id(self.world.new_contact(NOTES))
        with transaction(self.world.db) as connection:
            takeover_id = takeovers.request(connection, contact, "asked")
            if taken:
                takeovers.take(connection, takeover_id, ADMIN_USER)
        return takeover_id

    def rating(self) -> int:
        contact = self.contact_id(self.world.new_contact(NOTES))
        with transaction(self.world.db) as connection:
            reply = connection.insert("INSERT INTO messages (contact_id, direction, body, source, created_at) "
                                      "VALUES (?, 'out', 'Riega el jueves.', 'model', 0)", [contact])
            ratings.rate(connection, reply, -1, "reaction", "👎")
        return self.world.db.execute("SELECT id FROM ratings WHERE message_id = ?", [reply]).fetchone()[0]

    def account(self) -> int:
        """A fresh officer account (the accounts page's examples change or delete it)."""
        return create_user(self.world.db, next(_ACCOUNT_NAMES), "una clave bastante larga", role="officer")


_ACCOUNT_NAMES = (f"oficial{n}" for n in itertools.count())


def signed_in_client(world: BackendWorld):
    client = world.app.test_client()
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    signed = client.post("/admin/login", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert signed.status_code == 302, signed.get_data()[:300]
    return client


@pytest.fixture(scope="module")
def panel(backend_world) -> Panel:
    return Panel(backend_world)


# (path parameters, fields) of a valid post, made fresh for each example; the phones it is about.
def _examples(panel: Panel) -> dict:
    world = panel.world
    return {
        "/admin/contacts/<int:contact_id>": lambda: (
            {"contact_id": str(panel.contact_id(world.new_contact(NOTES)))},
            {"name": "Ana María", "domain": "example", "opted_out": "y"}),
        "/admin/alerts/new": lambda: ({}, {"target": "contact", "phone": AGRO, "message": "Helada esta noche",
                                           "level": "alta", "domain": "", "profile_filters": ""}),
        "/admin/forms/<int:form_id>": lambda: (
            {"form_id": str(panel.form_id("nota"))},
            {"schema": '{"type": "object", "properties": {"texto": {"type": "string", "minLength": 1, '
                       '"maxLength": 200}}, "required": ["texto"], "additionalProperties": false}'}),
        "/admin/knowledge/new": lambda: ({}, {"title": "Heladas", "domain": "agro", "body": "Riega antes de la helada."}),
        "/admin/knowledge/<int:entry_id>": lambda: (
            {"entry_id": str(panel.knowledge_entry())}, {"title": "Riego", "domain": "", "body": "Riega temprano."}),
        "/admin/knowledge/<int:entry_id>/delete": lambda: ({"entry_id": str(panel.knowledge_entry())}, {}),
        "/admin/agro/plots/": lambda: ({}, {"phone": world.new_contact(AGRO), "lote": "lote 2", "cultivo": "papa",
                                            "fecha_siembra": "hace 1 mes", "variedad": "", "area": "1 ha",
                                            "ubicacion": "Huaral", "suelo": "franco", "riego": "goteo 4 mm/h",
                                            "fuente_agua": "canal"}),
        "/admin/running/garmin/": lambda: ({}, {"phone": RUNNER}),
        "/admin/login": lambda: ({}, {"username": ADMIN_USER, "password": ADMIN_PASSWORD}),
        "/admin/logout": lambda: ({}, {}),
        "/admin/users/new": lambda: ({}, {"username": next(_ACCOUNT_NAMES), "password": "otra clave bastante larga",
                                          "role": "officer"}),
        "/admin/users/<int:user_id>/role": lambda: ({"user_id": str(panel.account())}, {"role": "admin"}),
        "/admin/users/<int:user_id>/password": lambda: ({"user_id": str(panel.account())},
                                                        {"password": "otra clave bastante larga"}),
        "/admin/users/<int:user_id>/delete": lambda: ({"user_id": str(panel.account())}, {}),
        "/admin/inbox/<int:takeover_id>/take": lambda: ({"takeover_id": str(panel.takeover(False))}, {}),
        "/admin/inbox/<int:takeover_id>/reply": lambda: ({"takeover_id": str(panel.takeover(True))},
                                                         {"text": "Hola, soy del equipo. ¿En qué te ayudo?"}),
        "/admin/inbox/<int:takeover_id>/hand-back": lambda: ({"takeover_id": str(panel.takeover(True))}, {}),
        "/admin/inbox/start": lambda: ({}, {"contact": str(panel.contact_id(world.new_contact(NOTES)))}),
        "/admin/ratings/<int:rating_id>/review": lambda: ({"rating_id": str(panel.rating())},
                                                          {"title": "Riego", "body": "Riega temprano."}),
        "/admin/personal-data/<int:contact_id>/erase": lambda: (
            {"contact_id": str(panel.contact_id(phone := world.new_contact(NOTES)))}, {"phone": phone}),
    }


QUERIES = {"/admin/contacts/": ["q", "domain", "onboarding", "opted_out", "before"],
           "/admin/conversations/": ["contact", "page", "before", "after", "at", "oldest"],
           "/admin/conversations/search": ["before", "after"], "/admin/audit/": ["officer", "action", "contact", "before"],
           "/admin/alerts/": ["status", "level", "kind", "delivery", "before"], "/admin/knowledge/": ["domain", "page"],
           "/admin/alerts/new": ["target", "phone"], "/admin/agro/plots/": ["phone"], "/admin/login": ["next"],
           "/admin/failures/": ["kind"]}


def post_form(panel: Panel, path: str, fields: list[tuple[str, str]], client=None, note: str = "") -> Sent:
    """A form post as a browser sends it, encoded by hand: a lone surrogate goes as the bytes a
    broken client would send, which the test client's own encoder refuses to write."""
    client = client or panel.client
    if path == "/admin/running/garmin/":  # a file upload: multipart
        def text(value: str) -> str:  # what a server decodes from a broken client's bytes
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        data = {text(name): text(value) for name, value in fields}
        data["file"] = (BytesIO(GARMIN_CSV), "activities.csv")
        return send(client, "admin", "POST", path, note=note, data=data, content_type="multipart/form-data")
    return send(client, "admin", "POST", path, body=bad.encode_query(fields).encode("ascii"),
                headers={"Content-Type": FORM}, note=note)


def check_admin(panel: Panel, go, phones: tuple[str, ...] = ()) -> Sent:
    return check_backend_request(panel.world, go, phones,
                                 answer=lambda sent: assert_answer(sent, ADMIN, panel.world.app.url_map))


def client_for(panel: Panel, path: str):
    """Logging in or out changes the session: those posts get a client of their own."""
    if path == "/admin/login":
        return panel.world.app.test_client()
    if path == "/admin/logout":
        return signed_in_client(panel.world)
    return panel.client


# -- the routes ---------------------------------------------------------------------------------------

def test_the_enumeration_finds_the_routes(backend_world):
    assert EXPECTED_ROUTES <= route_table(backend_world.app, ())


def test_every_form_has_a_valid_example(panel):
    posts = {rule for method, rule in route_table(panel.world.app) if method == "POST" and rule.startswith(ADMIN)}
    missing = posts - set(_examples(panel))
    assert not missing, f"add a valid example to tests/robustness/test_admin_inputs.py for {sorted(missing)}"


def test_every_example_is_accepted(panel):
    for path, make in _examples(panel).items():
        values, fields = make()
        client = client_for(panel, path)
        token = panel.token if client is panel.client else csrf_token(client.get("/admin/login").get_data(as_text=True))
        sent = check_admin(panel, lambda: post_form(panel, bad.route_path(path, values),
                                                     [*fields.items(), ("csrf_token", token)], client))
        assert sent.status in (200, 302), str(sent)
        assert "No se guardó nada".encode() not in sent.response.get_data(), str(sent)


# -- the forms, with one field broken --------------------------------------------------------------------

@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(2), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_forms_with_one_field_broken(panel, data):
    examples = _examples(panel)
    path = data.draw(st.sampled_from(sorted(examples)), label="form")
    values, fields = examples[path]()
    client = client_for(panel, path)
    token = panel.token if client is panel.client else csrf_token(client.get("/admin/login").get_data(as_text=True))
    fields = [*fields.items(), ("csrf_token", token)]
    index = data.draw(st.integers(0, len(fields) - 1), label="field")
    how = data.draw(st.sampled_from(["replace", "replace", "replace", "remove", "repeat", "extra"]), label="how")
    name, _ = fields[index]
    if how == "remove":
        del fields[index]
    elif how == "repeat":  # the same field twice: which one is read?
        fields.insert(index, (name, data.draw(bad.form_value(), label="value")))
    elif how == "extra":
        fields.append((data.draw(st.sampled_from(["extra", "id", "csrf_token", "source", "\ud800"])),
                       data.draw(bad.form_value(), label="value")))
    else:
        fields[index] = (name, data.draw(bad.form_value(), label="value"))
    phones = tuple(value for key, value in fields if key == "phone")
    sent = check_admin(panel, lambda: post_form(panel, bad.route_path(path, values), fields, client,
                                                note=f"{how} {name}"), phones)
    if name == "csrf_token" and how in ("replace", "remove"):  # a post from another site does nothing
        if path == "/admin/logout":  # refused with a flash and a redirect home, still signed in
            assert client.get("/admin/").status_code == 200, str(sent)
        else:
            assert not sent.accepted, str(sent)
    restore_forms(panel.world)


def restore_forms(world: BackendWorld) -> None:
    """A schema saved through the panel is put back: later examples post the usual notes."""
    world.db.execute("UPDATE form_definitions SET schema = ? WHERE name = 'nota'", [json.dumps(NOTE_FORM)])


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_form_schemas_that_break_submissions(panel, data):
    """A schema the panel accepts must not make POST /form/update fail afterwards (it validates
    every submission against it)."""
    valid = {"type": "object", "properties": {"texto": {"type": "string", "minLength": 1}}, "required": ["texto"]}
    schema, mutation = data.draw(bad.mutated(valid), label="schema")
    text = data.draw(st.sampled_from([bad.dumps(schema), '{"$ref": "https://example.invalid/s.json"}',
                                      '{"$ref": "#/nowhere"}', '{"pattern": "("}', '{"format": "date"}',
                                      '{"properties": {"texto": {"pattern": "[a-"}}}', '{"$schema": "bogus"}',
                                      '{"type": "object", "dependentSchemas": {"texto": {"$ref": "#/$defs/x"}}}']),
                     label="text")
    form_id = panel.form_id("nota")
    sent = check_admin(panel, lambda: post_form(panel, f"/admin/forms/{form_id}",
                                                [("schema", text), ("csrf_token", panel.token)],
                                                note=mutation.describe()))
    if sent.accepted:
        for note in ({"texto": "comprar semillas"}, {"texto": ""}, {"otro": 1}, {}):
            submitted = send(panel.world.client, "backend", "POST", "/form/update", headers=AUTH,
                             body=bad.body_bytes({"phone": NOTES, "form": "nota", "data": note}),
                             note=f"after schema {text[:80]}")
            assert_answer(submitted)
    restore_forms(panel.world)


# -- pages, query strings, path ids, and no session -------------------------------------------------------

@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(1.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_pages_with_bad_query_strings_and_ids(panel, data):
    rule = data.draw(st.sampled_from(rules(panel.world.app)), label="rule")
    if not rule.rule.startswith(ADMIN):
        rule = next(r for r in rules(panel.world.app) if r.rule == "/admin/")
    method = data.draw(st.sampled_from(sorted(rule.methods - {"OPTIONS"})), label="method")
    values = {name: data.draw(bad.path_id() | st.sampled_from(["1", "2", "3"]), label=name) for name in rule.arguments}
    names = QUERIES.get(rule.rule, []) + ["q", "next"]
    query = bad.encode_query(data.draw(st.lists(st.tuples(st.sampled_from(names), bad.query_value()), max_size=3),
                                       label="query"))
    anonymous = data.draw(st.booleans(), label="anonymous")
    client = panel.world.app.test_client() if anonymous else client_for(panel, rule.rule)
    body = None if method != "POST" else bad.encode_query([("csrf_token", panel.token)]).encode()
    sent = check_admin(panel, lambda: send(client, "admin", method, bad.route_path(rule.rule, values), query, body,
                                           {"Content-Type": FORM} if body else {}))
    if anonymous and rule.rule not in ("/admin/login",) and sent.status < 400:
        assert sent.status == 302 and "/admin/login" in sent.response.headers["Location"], str(sent)
    if sent.status in (301, 302, 303, 307, 308):  # never sent off the panel by a crafted ?next=
        location = sent.response.headers["Location"]
        assert location.startswith("/admin") or location.startswith("http://localhost/admin"), str(sent)
    assert panel.client.get("/admin/").status_code == 200  # the panel's own session is still signed in
