"""Every HTTP input of the bridge: the cloud transport's webhook (signed, as Meta sends it, with
one part broken; unsigned; not JSON), the simulator's API (a voice note's multipart upload too)
and page, and /health.

Per request: no 5xx; a refusal is JSON that says what is wrong; the inbox file passes
integrity_check and a refused request added no row; every message an accepted request handed on
was answered (never left queued, as if the backend were down), the backend answered the bridge
without a 5xx; and the phones it came from still get normal replies."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from chasqui.serve import start_server
from tests.robustness import strategies as bad
from tests.robustness.bridge_world import (APP_SECRET, NOT_NORMAL, VERIFY_TOKEN, VOICE_NOTE, BackendCalls, BridgeApp,
                                           make_bridges, multipart)
from tests.robustness.harness import Sent, assert_answer, route_table, rules, send
from tests.robustness.store_checks import assert_intact, assert_nothing_added, row_counts
from tests.robustness.worlds import AGRO, RUNNER, BackendWorld
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.voice_backend import SpeechStandIn

E164 = re.compile(r"\+[1-9][0-9]{7,14}", re.ASCII)  # what backend/phones.py takes
CLOUD_ROUTES = {("GET", "/webhook"), ("POST", "/webhook"), ("GET", "/health")}
VOICE = "/simulator/api/voice"
SIMULATOR_ROUTES = {("GET", "/simulator/"), ("POST", "/simulator/api/messages"), ("GET", "/simulator/api/messages"),
                    ("GET", "/simulator/api/phones"), ("POST", VOICE), ("GET", "/health")}


class Bridges:
    def __init__(self, backend: BackendWorld, calls: BackendCalls, cloud: BridgeApp, simulator: BridgeApp):
        self.backend, self.calls, self.cloud, self.simulator = backend, calls, cloud, simulator


@pytest.fixture(scope="module")
def bridges(tmp_path_factory, module_patch, weather, scripted_model):
    speech = SpeechStandIn()
    module_patch.setenv("SPEECH_API_URL", speech.url)  # read when the backend's settings are
    backend = BackendWorld(tmp_path_factory.mktemp("bridge-backend"), scripted_model.url)
    calls = BackendCalls(backend)
    server, _ = start_server(backend.app, "127.0.0.1", 0)
    cloud, simulator = make_bridges(tmp_path_factory.mktemp("bridges"), f"http://127.0.0.1:{server.server_port}")
    yield Bridges(backend, calls, cloud, simulator)
    for bridge in (cloud, simulator):
        bridge.stop()
    server.shutdown()
    server.server_close()
    speech.stop()


def check_bridge_request(bridges: Bridges, bridge: BridgeApp, go) -> Sent:
    """Send, then check the answer, the inbox, what was handed on, and the phones it came from."""
    last_row, calls = bridge.inbox_ids(), len(bridges.calls.statuses)
    before = row_counts(bridge.inbox)
    sent = go()
    assert_answer(sent)
    assert_intact(bridge.inbox, sent)
    assert not bridges.calls.server_errors_since(calls), f"the backend failed: {bridges.calls.statuses[calls:]} {sent}"
    if not sent.accepted:
        assert_nothing_added(before, row_counts(bridge.inbox), sent)
        return sent
    rows = bridge.rows_after(last_row)
    unusable = [row for row in rows if not E164.fullmatch(row[1])]
    assert not unusable, f"messages from phones the backend cannot take were kept: {unusable} {sent}"
    stuck = [row for row in rows if row[3] != "answered"]
    assert not stuck, f"messages not answered (kept as if the backend were down): {stuck} {sent}"
    for phone in {row[1] for row in rows}:
        assert_still_answered(bridges, bridge, phone, sent)
    return sent


def assert_still_answered(bridges: Bridges, bridge: BridgeApp, phone: str, after: Sent) -> None:
    """A plain «hola» from the same phone gets a normal reply (not the polite refusal), when the
    phone is one the backend takes: the bridge passes on any digits WhatsApp sends."""
    if not bridges.backend.is_contact(phone):
        return  # the backend refused the phone itself (not E.164): refused politely, nothing to check
    before = len(bridge.replies_to(phone))
    if bridge is bridges.cloud:
        raw, headers = meta.signed_post_args(meta.text_message(phone, "hola", message_id=unique_id(bridges)), APP_SECRET)
        response = bridge.client.post("/webhook", data=raw, headers=headers)
    else:
        response = bridge.client.post("/simulator/api/messages", json={"phone": phone, "text": "hola"})
    assert response.status_code in (200, 202), (response.status_code, response.get_data()[:300], str(after))
    replies = bridge.replies_to(phone)[before:]
    assert replies and replies[-1].strip() and replies[-1] not in NOT_NORMAL, (phone, replies, str(after))


def unique_id(bridges: Bridges) -> str:
    return f"wamid.robust.{bridges.backend.unique()}"


# -- the routes -------------------------------------------------------------------------------------

def test_the_enumeration_finds_the_routes(bridges):
    assert CLOUD_ROUTES <= route_table(bridges.cloud.app)
    assert SIMULATOR_ROUTES <= route_table(bridges.simulator.app)


def test_every_route_has_a_valid_example(bridges):
    missing = (route_table(bridges.cloud.app) - set(CLOUD_EXAMPLES)) | \
        (route_table(bridges.simulator.app) - set(SIMULATOR_EXAMPLES) - SIMULATOR_ELSEWHERE)
    assert not missing, f"add a valid example to tests/robustness/test_bridge_inputs.py for {sorted(missing)}"


# -- valid requests, as tests/whatsapp_bridge makes them -------------------------------------------------

def webhook_payloads(bridges: Bridges) -> list:
    """Valid deliveries of every kind the bridge reads (tests/whatsapp_bridge/webhook_payloads.py)."""
    def new(phone_prefix: str = "5195") -> str:
        return f"+{phone_prefix}{bridges.backend.unique():07d}"

    def mid() -> str:
        return unique_id(bridges)
    return [
        lambda: meta.text_message(AGRO, "¿cuándo riego?", message_id=mid()),
        lambda: meta.text_message(new(), "Hola", message_id=mid(), name="Ana"),
        lambda: meta.button_reply(RUNNER, "si", "Sí", message_id=mid(), context_id="wamid.ctx"),
        lambda: meta.list_reply(AGRO, "riego", "Riego", "cuándo regar", message_id=mid(), context_id="wamid.ctx"),
        lambda: meta.location(AGRO, -11.5, -77.2, name="Huaral", address="Chancay", message_id=mid()),
        lambda: meta.audio(AGRO, media_id="1234567890", message_id=mid()),
        lambda: meta.image(new(), media_id="1234567891", caption="mi maíz", message_id=mid()),
        lambda: meta.unknown_type(AGRO, "sticker", message_id=mid()),
        lambda: meta.unsupported(AGRO, message_id=mid()),
        lambda: meta.status_update(bridges.backend.sent_alert(), "delivered", AGRO),
        lambda: meta.status_update("wamid.not.an.alert", "failed", AGRO, errors=[131026]),
        lambda: meta.batch(meta.text_message(new(), "Hola", message_id=mid()),
                           meta.status_update("wamid.not.an.alert", "read", RUNNER)),
    ]


CLOUD_EXAMPLES = {("POST", "/webhook"), ("GET", "/webhook"), ("GET", "/health")}
SIMULATOR_EXAMPLES = {
    ("POST", "/simulator/api/messages"): lambda b: {"phone": "+51987000001", "text": "Hola", "button_id": None},
    ("GET", "/simulator/api/messages"): lambda b: [("phone", AGRO), ("after", "0"), ("wait", "0")],
    ("GET", "/simulator/api/phones"): lambda b: [],
    ("GET", "/simulator/"): lambda b: [],
    ("GET", "/health"): lambda b: [],
    ("POST", VOICE): lambda b: ({"phone": AGRO, "seconds": "2.5"}, ("nota.ogg", "audio/ogg", VOICE_NOTE)),
    ("POST", "/simulator/api/reactions"): lambda b: {"phone": AGRO, "message_id": _last_reply_id(b), "emoji": "👍"},
}
# Routes whose valid requests need state no example can make here: a document the queue delivered
# (tests/whatsapp_bridge/test_officers_desk.py downloads one).
SIMULATOR_ELSEWHERE = {("GET", "/simulator/api/documents/<provider_id>")}


def _last_reply_id(bridges) -> str:
    """A bubble Chasqui sent to AGRO in the simulator (a reaction names the reacted message)."""
    if not any(m["from"] == "chasqui" for m in bridges.simulator.transport.conversation(AGRO)):
        bridges.simulator.client.post("/simulator/api/messages", json={"phone": AGRO, "text": "hola"})
    return [m for m in bridges.simulator.transport.conversation(AGRO) if m["from"] == "chasqui"][-1]["id"]


def test_every_example_is_accepted_and_answered(bridges):
    """The starting points are valid, and the checks see them through: each webhook is a 200
    whose messages are answered, each simulator message a 202 with a reply."""
    for make in webhook_payloads(bridges):
        payload = make()
        sent = check_bridge_request(bridges, bridges.cloud, lambda: post_webhook(bridges, meta.raw_json(payload)))
        assert sent.status == 200 and sent.response.get_json()["ignored"] == 0, str(sent)
    before = len(bridges.cloud.replies_to(AGRO))
    post_webhook(bridges, meta.raw_json(meta.text_message(AGRO, "¿cuándo riego?", message_id=unique_id(bridges))))
    assert "riego" in bridges.cloud.replies_to(AGRO)[before]  # the backend's own answer came back
    for key, make in SIMULATOR_EXAMPLES.items():
        method, path = key
        made = make(bridges)
        if key == ("POST", VOICE):
            before = len(bridges.simulator.replies_to(AGRO))
            sent = check_bridge_request(bridges, bridges.simulator, lambda: send_voice(bridges, *made))
            assert sent.status == 202, str(sent)
            heard = bridges.simulator.replies_to(AGRO)[before]  # (then the check's own «hola» is answered)
            assert heard.startswith('🎙️ Entendí: "hola"'), (heard, str(sent))
            continue
        body = bad.body_bytes(made) if method == "POST" else None
        query = bad.encode_query(made) if method == "GET" else ""
        sent = check_bridge_request(bridges, bridges.simulator, lambda: send(
            bridges.simulator.client, "bridge", method, path, query, body, {"Content-Type": "application/json"}))
        assert sent.status in (200, 202), str(sent)
    assert bridges.simulator.replies_to("+51987000001")


def send_voice(bridges: Bridges, fields: dict, file: tuple | None, note: str = "") -> Sent:
    body, content_type = multipart(fields, file)
    return send(bridges.simulator.client, "bridge", "POST", VOICE, body=body, headers={"Content-Type": content_type},
                note=note)


def post_webhook(bridges: Bridges, raw: bytes, signed: bool = True, headers: dict | None = None,
                 note: str = "") -> Sent:
    sent_headers = {"Content-Type": "application/json"}
    if signed:
        sent_headers["X-Hub-Signature-256"] = meta.sign(raw, APP_SECRET)
    sent_headers.update(headers or {})
    return send(bridges.cloud.client, "bridge", "POST", "/webhook", body=raw, headers=sent_headers, note=note)


# -- the webhook ---------------------------------------------------------------------------------------

@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(2), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_signed_webhooks_with_one_part_broken(bridges, data):
    """Meta retries any webhook not answered 200: a broken part must be acknowledged and skipped,
    the rest read; what is read is answered."""
    choices = webhook_payloads(bridges)
    payload = choices[data.draw(st.integers(0, len(choices) - 1), label="payload")]()
    body, mutation = data.draw(bad.mutated(payload), label="mutation")
    raw = bad.body_bytes(body)
    check_bridge_request(bridges, bridges.cloud, lambda: post_webhook(bridges, raw, note=mutation.describe()))


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(body=bad.bad_bodies(), signed=st.booleans())
def test_webhook_bodies_that_are_no_webhook(bridges, body, signed):
    sent = check_bridge_request(bridges, bridges.cloud, lambda: post_webhook(bridges, body, signed=signed))
    if not signed:
        assert sent.status == 403, str(sent)


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_webhook_signatures_and_headers(bridges, data):
    raw = meta.raw_json(meta.text_message(AGRO, "hola", message_id=unique_id(bridges)))
    good = meta.sign(raw, APP_SECRET)
    signature = data.draw(st.sampled_from([None, "", "sha256=", good.upper(), good[:-1], good + "0", "sha1=" + good[7:],
                                           meta.sign(raw, "another secret"), meta.sign(raw + b" ", APP_SECRET),
                                           " " + good, good + " ", "sha256=" + "zz" * 32]), label="signature")
    content_type = data.draw(st.sampled_from(bad.CONTENT_TYPES), label="content type")
    length = data.draw(st.sampled_from(bad.CONTENT_LENGTHS), label="content length")
    headers = {"X-Hub-Signature-256": signature} if signature is not None else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    environ = {"CONTENT_LENGTH": length} if length is not None else {}
    sent = check_bridge_request(bridges, bridges.cloud, lambda: send(
        bridges.cloud.client, "bridge", "POST", "/webhook", body=raw, headers=headers, environ=environ))
    if sent.accepted:  # only Meta's exact signature of these exact bytes opens the door
        assert signature is not None and signature.strip().lower() == good and length in (None, str(len(raw))), str(sent)


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(0.5), suppress_health_check=bad.SUPPRESS)
@given(pairs=st.lists(st.tuples(st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
                                bad.query_value() | st.sampled_from(["subscribe", VERIFY_TOKEN])), max_size=4))
def test_webhook_verification_with_bad_query_strings(bridges, pairs):
    sent = check_bridge_request(bridges, bridges.cloud, lambda: send(bridges.cloud.client, "bridge", "GET", "/webhook",
                                                                    bad.encode_query(pairs)))
    if sent.accepted:  # the challenge is echoed only to the right token, and as plain text
        assert ("hub.verify_token", VERIFY_TOKEN) in pairs and sent.response.mimetype == "text/plain", str(sent)


# -- the simulator, the health routes, and any route with anything ------------------------------------------

@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(1.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_simulator_messages_with_one_field_broken(bridges, data):
    valid = SIMULATOR_EXAMPLES[("POST", "/simulator/api/messages")](bridges)
    body, mutation = data.draw(bad.mutated(valid), label="mutation")
    check_bridge_request(bridges, bridges.simulator, lambda: send(
        bridges.simulator.client, "bridge", "POST", "/simulator/api/messages", body=bad.body_bytes(body),
        headers={"Content-Type": "application/json"}, note=mutation.describe()))


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_simulator_voice_notes_with_one_part_broken(bridges, data):
    fields, (filename, content_type, audio) = SIMULATOR_EXAMPLES[("POST", VOICE)](bridges)
    broken = data.draw(st.sampled_from(["phone", "seconds", "filename", "content type", "audio", "no file",
                                        "extra field"]), label="part")
    value = data.draw(bad.query_value(), label="value")
    if broken in ("phone", "seconds"):
        fields = {**fields, broken: value}
    elif broken == "filename":
        filename = value
    elif broken == "content type":
        content_type = value
    elif broken == "audio":  # nothing, a few bytes, or more than the simulator's limit
        audio = data.draw(st.binary(max_size=512) | st.just(VOICE_NOTE * 40), label="audio")
    elif broken == "extra field":
        fields = {**fields, value or "extra": value}
    file = None if broken == "no file" else (filename, content_type, audio)
    check_bridge_request(bridges, bridges.simulator, lambda: send_voice(bridges, fields, file,
                                                                        note=f"{broken}: {value!r}"[:200]))


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(1.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_any_bridge_route_with_bad_input(bridges, data):
    bridge = data.draw(st.sampled_from([bridges.cloud, bridges.simulator]), label="transport")
    rule = data.draw(st.sampled_from(rules(bridge.app)), label="rule")
    method = data.draw(st.sampled_from(sorted(rule.methods - {"OPTIONS"}) + ["PUT", "DELETE"]), label="method")
    query = bad.encode_query(data.draw(st.lists(st.tuples(
        st.sampled_from(["phone", "after", "wait", "hub.mode", "hub.verify_token", "hub.challenge"]),
        bad.query_value()), max_size=4), label="query"))
    body = data.draw(st.none() | bad.bad_bodies(), label="body")
    headers, environ = data.draw(bad.headers("unused"), label="headers")
    if bridge is bridges.cloud and body is not None and data.draw(st.booleans(), label="signed"):
        headers["X-Hub-Signature-256"] = meta.sign(body, APP_SECRET)
    check_bridge_request(bridges, bridge, lambda: send(bridge.client, "bridge", method, rule.rule, query, body,
                                                       headers, environ))
    assert all(wait <= 25 for wait in bridges.simulator.transport.waits)  # the simulator's own bound
