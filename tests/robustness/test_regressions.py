"""One test per bug the bad-input suite found, each naming the input that found it."""
from __future__ import annotations

import json

import pytest

from chasqui.http_errors import ApiError
from model_api.request_parsing import parse_chat, parse_completion
from tests.admin.conftest import csrf_token
from tests.backend.conftest import AUTH
from tests.robustness.test_admin_inputs import signed_in_client
from tests.robustness.worlds import AGRO, NOTES, BackendWorld
from tests.whatsapp_bridge import webhook_payloads as meta
from whatsapp_bridge.transports.cloud_webhook import parse_payload

YES_NO = {"type": "object", "properties": {"r": {"type": "string", "enum": ["si", "no"]}}, "required": ["r"]}


def chat(schema: dict) -> dict:
    return {"system": "s", "context": "c", "max_tokens": 8, "schema": schema}


def refused(parse, body: dict) -> dict:
    with pytest.raises(ApiError) as refusal:
        parse(body, 32)
    assert refusal.value.status == 400, refusal.value.body()
    return refusal.value.body()["error"]


# -- the model API ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [[], ["user"], {"a": 1}])
def test_a_message_role_that_is_a_list_or_an_object_is_a_400(role):
    """{"messages": [{"role": [], ...}]}: `role not in {set}` hashed the list, a TypeError (500)."""
    error = refused(parse_completion, {"messages": [{"role": role, "content": "hola"}]})
    assert error["param"] == "messages[0].role"


def test_a_response_format_type_that_is_an_object_is_a_400():
    """{"response_format": {"type": {}}}: the same unhashable membership test, a 500."""
    error = refused(parse_completion, {"messages": [{"role": "user", "content": "x"}], "response_format": {"type": {}}})
    assert error["param"] == "response_format"


def test_a_schema_requiring_an_undeclared_property_is_refused_before_generating():
    """{"type": "object", "required": ["r"]}: the grammar let the model write {}, which then did
    not fit the schema: 500 output_invalid after a whole generation."""
    error = refused(parse_chat, chat({"type": "object", "required": ["r"]}))
    assert error["code"] == "invalid_schema" and "'r'" in error["message"]


@pytest.mark.parametrize("schema", [{"type": "object", "properties": {"r": {"type": {}}}},
                                    {"type": [], "properties": {"r": {"enum": ["si"]}}},
                                    {"type": "object", "required": "r"}])
def test_a_schema_that_is_no_json_schema_is_refused_before_generating(schema):
    """"type": {} compiled into some grammar; validating the answer against it raised SchemaError (500)."""
    error = refused(parse_chat, chat(schema))
    assert error["code"] == "invalid_schema" and "not a valid JSON schema" in error["message"]


def test_a_valid_schema_still_passes():
    assert parse_chat(chat(YES_NO), 32).schema_from_client


# -- ids in paths: ASCII digits within SQLite's integers ------------------------------------------------

@pytest.fixture(scope="module")
def panel_client(backend_world: BackendWorld):
    return signed_in_client(backend_world)


@pytest.mark.parametrize("contact_id", ["99999999999999999999", "9223372036854775808", "١", "１", "፩"])
def test_an_admin_contact_id_past_64_bits_or_not_in_ascii_is_a_404(panel_client, contact_id):
    """/admin/contacts/99999999999999999999 was an OverflowError in the query (500), and
    /admin/contacts/١ showed contact 1: werkzeug's <int:> takes any Unicode digit."""
    response = panel_client.get(f"/admin/contacts/{contact_id}")
    assert response.status_code == 404 and response.is_json


def test_an_alert_id_in_full_width_digits_names_no_alert(backend_world):
    """/alerts/１２/sent reported on alert 12."""
    alert_id, lease = backend_world.claimed_alert()
    wide = "".join(chr(ord(digit) + 0xFEE0) for digit in str(alert_id))
    response = backend_world.client.post(f"/alerts/{wide}/sent", json={"lease_token": lease}, headers=AUTH)
    assert response.status_code == 404
    assert backend_world.db.execute("SELECT status FROM alerts WHERE id = ?", [alert_id]).fetchone()[0] == "claimed"


# -- the admin's forms ----------------------------------------------------------------------------------

def test_a_contact_form_posted_without_its_name_field_is_saved(backend_world, panel_client):
    """domain=example&opted_out=y with no `name` at all: WTForms left None, .strip() was a 500."""
    phone = backend_world.new_contact(NOTES)
    contact_id = backend_world.db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]
    token = csrf_token(panel_client.get(f"/admin/contacts/{contact_id}").get_data(as_text=True))
    response = panel_client.post(f"/admin/contacts/{contact_id}", data={"domain": "example", "csrf_token": token})
    assert response.status_code == 302
    assert backend_world.db.execute("SELECT name FROM contacts WHERE id = ?", [contact_id]).fetchone()[0] is None


@pytest.mark.parametrize("schema", ['{"$ref": "https://example.invalid/s.json"}', '{"$ref": "#/nowhere"}',
                                    '{"properties": {"texto": {"$ref": "#/$defs/x"}}}'])
def test_a_form_schema_whose_ref_leads_nowhere_is_refused_by_the_panel(backend_world, panel_client, schema):
    """Saved, it made every POST /form/update of that form a 500, and a remote $ref was fetched
    from the network on each submission."""
    form_id = backend_world.db.execute("SELECT id FROM form_definitions WHERE name = 'nota'").fetchone()[0]
    before = backend_world.db.execute("SELECT schema FROM form_definitions WHERE id = ?", [form_id]).fetchone()[0]
    token = csrf_token(panel_client.get(f"/admin/forms/{form_id}").get_data(as_text=True))
    response = panel_client.post(f"/admin/forms/{form_id}", data={"schema": schema, "csrf_token": token})
    assert response.status_code == 400 and "$ref" in response.get_data(as_text=True)
    assert backend_world.db.execute("SELECT schema FROM form_definitions WHERE id = ?", [form_id]).fetchone()[0] == before


def test_a_stored_schema_with_a_remote_ref_is_never_fetched(backend_world, monkeypatch):
    """A definition written before the panel checked refs: the submission says what is broken,
    and nothing is fetched (an empty referencing registry instead of jsonschema's urlopen)."""
    def no_network(*args, **kwargs):
        raise AssertionError("a form submission reached for the network")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    db = backend_world.db
    before = db.execute("SELECT schema FROM form_definitions WHERE name = 'nota'").fetchone()[0]
    db.execute("UPDATE form_definitions SET schema = ? WHERE name = 'nota'",
               [json.dumps({"$ref": "https://example.invalid/s.json"})])
    try:
        response = backend_world.client.post("/form/update", headers=AUTH,
                                             json={"phone": NOTES, "form": "nota", "data": {"texto": "x"}})
    finally:
        db.execute("UPDATE form_definitions SET schema = ? WHERE name = 'nota'", [before])
    assert response.json["error"]["code"] == "form_definition_broken"
    assert "admin panel" in response.json["error"]["message"]


# -- refusals that wrote a plot ----------------------------------------------------------------------------

def plots_of(world: BackendWorld, phone: str) -> int:
    return world.db.execute("SELECT COUNT(*) FROM agro_plots p JOIN contacts c ON c.id = p.contact_id "
                            "WHERE c.phone = ?", [phone]).fetchone()[0]


def producer_without_plots(world: BackendWorld) -> str:
    """A producer whose «lote 1» exists only as onboarding answers (made before plots were, or
    whose first reply did not need it): the plot is made the first time one is needed."""
    phone = world.new_contact(AGRO)
    world.db.execute("DELETE FROM agro_plots WHERE contact_id = (SELECT id FROM contacts WHERE phone = ?)", [phone])
    return phone


def test_a_refused_plot_writes_not_even_the_onboarding_plot(backend_world):
    """POST /agro/plots?phone=… with {} (no lote): a 400 that still made the producer's «lote 1»."""
    phone = producer_without_plots(backend_world)
    response = backend_world.client.post(f"/agro/plots?phone={phone}", json={}, headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["param"] == "lote"
    assert plots_of(backend_world, phone) == 0
    added = backend_world.client.post(f"/agro/plots?phone={phone}", headers=AUTH,
                                      json={"lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hace 1 mes"})
    assert added.status_code == 201 and plots_of(backend_world, phone) == 2  # lote 1 first, then lote 2


def test_a_refused_plot_on_the_admin_page_writes_no_plot(backend_world, panel_client):
    """The Plots page made every producer's «lote 1» while rendering its refusal."""
    phone = producer_without_plots(backend_world)
    token = csrf_token(panel_client.get("/admin/knowledge/new").get_data(as_text=True))
    response = panel_client.post("/admin/agro/plots/", data={"phone": phone, "lote": "lote 2", "cultivo": "papa",
                                                             "csrf_token": token})  # no planting date
    assert response.status_code == 400
    assert plots_of(backend_world, phone) == 0


@pytest.mark.parametrize("contact", ["999999999999999999999999999999", "١", "１"])
def test_a_conversation_asked_by_an_id_past_64_bits_or_not_in_ascii_shows_no_contact(panel_client, contact):
    """/admin/conversations/?contact=999999999999999999999999999999 was an OverflowError (500);
    ?contact=١ opened contact 1's conversation."""
    response = panel_client.get(f"/admin/conversations/?contact={contact}")
    assert response.status_code == 200 and "Ese contacto no existe." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["limit=１２", "limit=1_0", "limit=%201", "wait=٣", "wait=1_0", "wait=nan", "wait=%205"])
def test_poll_parameters_are_plain_ascii_numbers(backend_world, query):
    """int() and float() take "１２", "1_0", " 5" and "nan": a limit or a wait nobody wrote."""
    response = backend_world.client.get(f"/alerts/pending?{query}", headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["param"] == query.split("=")[0]


def test_poll_parameters_as_the_bridge_writes_them_still_work(backend_world):
    for query in ("limit=20", "wait=0.5", "wait=25", "wait=1e-05", "limit=1&wait=0"):
        assert backend_world.client.get(f"/alerts/pending?{query}", headers=AUTH).status_code == 200, query


# -- the bridge's webhook --------------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["5" * 16, "051987654321", "٥١٩٨٧٦٥٤٣٢١", "1234567"])
def test_a_webhook_message_from_no_phone_number_is_skipped_not_relayed(sender):
    """"from": "5555555555555555" (16 digits) was relayed, refused by the backend (not E.164) and
    answered with the polite refusal, to a number nobody has: now a broken part, acknowledged."""
    payload = meta.text_message("+51987654321", "hola", message_id="wamid.regression")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = sender
    read = parse_payload(payload)
    assert read.messages == [] and read.problems == ["a message whose 'from' is not a phone number"]


# -- an irrigation rate no method has -------------------------------------------------------------------

@pytest.mark.parametrize("rate", ["99999999", "0", "1000"])
def test_an_onboarding_with_an_impossible_irrigation_rate_leaves_the_producer_usable(backend_world, rate):
    """«maíz en Huaral, …, riego por goteo 99999999 mm/h, …» was kept as the plot's rate; the
    water balance refuses any rate outside (0, 1000) mm/h, so that answer and every later one
    were a 500. The rate is refused where it is read."""
    phone = f"+5195{backend_world.unique():07d}"
    answer = (f"maíz en Huaral, 1 ha, sembré hace 2 meses, suelo franco, riego por goteo {rate} mm/h, "
              "agua de canal")
    for text in ("Hola", "1", answer):
        backend_world.reply(phone, text)
    assert backend_world.reply(phone, "¿cuándo riego?")
    rates = backend_world.db.execute("SELECT p.rate_mm_h FROM agro_plots p JOIN contacts c ON c.id = p.contact_id "
                                     "WHERE c.phone = ?", [phone]).fetchall()
    assert all(value is None or 0 < value <= 200 for (value,) in rates), rates


def test_a_plot_with_an_impossible_irrigation_rate_is_refused_naming_it(backend_world):
    phone = backend_world.new_contact(AGRO)
    response = backend_world.client.post(f"/agro/plots?phone={phone}", headers=AUTH, json={
        "lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hace 1 mes", "riego": "goteo 99999999 mm/h"})
    assert response.status_code == 400 and response.json["error"]["param"] == "riego"


def test_an_impossible_irrigation_rate_by_chat_is_asked_again(backend_world):
    """«riego por goteo 99999999 mm/h» from an onboarded producer: the rate check above made the
    chat's plot-change reader raise (500); it is no change, and the figures are asked for."""
    phone = backend_world.new_contact(AGRO)
    reply = backend_world.reply(phone, "riego por goteo 99999999 mm/h")
    assert "lote" in reply or "riego" in reply
    assert backend_world.reply(phone, "¿cuándo riego?")
