"""The Cloud API transport end to end over HTTP: Meta's signed webhooks in (built in the documented
format), the bridge, the real backend, and the local fake Graph API checking every request it
sends against Meta's documented format."""
from __future__ import annotations

import json
import time

import pytest
import requests

from tests.databases import opened
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.conftest import APP_SECRET, TOKEN, VERIFY_TOKEN, cloud_transport, post_webhook
from whatsapp_bridge.messages import UNSUPPORTED_REPLY, Button, Outbound, SendFailed

PHONE = "+51987654321"


@pytest.fixture
def cloud_bridge(make_bridge, backend, cloud_settings):
    return make_bridge(cloud_transport(cloud_settings), backend_url=backend.url, **cloud_settings)


def test_webhook_verification_handshake(cloud_bridge):
    ok = requests.get(f"{cloud_bridge.url}/webhook", params=meta.verification_query(VERIFY_TOKEN, "4242"), timeout=5)
    assert (ok.status_code, ok.text) == (200, "4242")
    wrong = requests.get(f"{cloud_bridge.url}/webhook", params=meta.verification_query("guess", "4242"), timeout=5)
    assert wrong.status_code == 403 and "4242" not in wrong.text


def test_a_text_message_is_answered_through_the_graph_api_in_the_documented_format(cloud_bridge, graph):
    incoming = meta.text_message(PHONE, "Hola")
    message_id = incoming["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert post_webhook(cloud_bridge, incoming).status_code == 200
    sent = graph.wait_for(1, kind="message", timeout=10)
    reply = graph.messages()[0]
    assert reply["to"] == "51987654321" and reply["type"] == "text"
    assert "¿En qué ciudad vives?" in reply["text"]["body"]  # the name came with the webhook's profile: not asked
    assert reply["context"] == {"message_id": message_id}  # shown as a reply to the user's message
    assert [r["message_id"] for r in graph.reads()] == [message_id]  # read + typing indicator
    assert graph.rejected == [] and sent


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},  # unsigned
    {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64},
])
def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_nothing_is_processed(cloud_bridge, graph, headers):
    response = post_webhook(cloud_bridge, meta.text_message(PHONE, "Hola"), headers=headers)
    assert response.status_code == 403 and response.json()["error"]["code"] == "invalid_signature"
    assert post_webhook(cloud_bridge, meta.text_message(PHONE, "Hola"), secret="another-secret").status_code == 403
    time.sleep(0.5)
    assert cloud_bridge.bridge.inbox.counts() == {} and graph.accepted == []


@pytest.mark.parametrize("raw", [b"{not json", b'{"object": "page", "entry": []}', b'[' * 2000 + b']' * 2000,
                                 b'{"object": "whatsapp_business_account", "entry": [{"id": 1' + b'0' * 5000 + b'}]}',
                                 b'{"object": "whatsapp_business_account", "entry": NaN}'])
def test_malformed_payloads_are_400_and_store_nothing(cloud_bridge, raw):
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta.sign(raw, APP_SECRET)}
    response = requests.post(f"{cloud_bridge.url}/webhook", data=raw, headers=headers, timeout=5)
    assert response.status_code == 400 and "malformed" in response.json()["error"]["message"]
    assert cloud_bridge.bridge.inbox.counts() == {}


@pytest.mark.parametrize("broken", [
    {"type": "text"},  # no from, no id
    {"from": "51987654321", "id": "wamid.A", "type": "text", "text": {"body": "\ud800"}},  # a lone surrogate
    {"from": ["51987654321"], "id": "wamid.B", "type": "text", "text": {"body": "Hola"}},
    {"from": "51987654321", "id": "wamid.C", "type": "interactive", "interactive": {"button_reply": "sí"},
     "timestamp": "9" * 400},
    {"from": "５１９８７６５４３２１", "id": "wamid.D", "type": "text", "text": {"body": "Hola"}},  # full-width digits
])
def test_a_signed_webhook_with_a_broken_part_acknowledges_the_rest(cloud_bridge, graph, broken):
    good = meta.text_message(PHONE, "Hola")
    good["entry"][0]["changes"][0]["value"]["messages"].insert(0, broken)
    good["entry"][0]["changes"][0]["value"]["contacts"].append({"wa_id": ["x"], "profile": "Rosa"})
    raw = json.dumps(good).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta.sign(raw, APP_SECRET)}
    response = requests.post(f"{cloud_bridge.url}/webhook", data=raw, headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["received"] >= 1  # the good message is read
    deadline = time.time() + 10
    while time.time() < deadline and cloud_bridge.bridge.inbox.counts().get("answered", 0) < 1:
        time.sleep(0.1)
    assert cloud_bridge.bridge.inbox.counts().get("answered", 0) >= 1


def test_a_retried_webhook_is_answered_once(cloud_bridge, graph):
    incoming = meta.text_message(PHONE, "Hola")
    for _ in range(3):
        assert post_webhook(cloud_bridge, incoming).status_code == 200
    graph.wait_for(1, kind="message", timeout=10)
    time.sleep(0.5)
    assert len(graph.messages()) == 1


def test_media_kinds_get_a_polite_answer_and_locations_reach_the_backend(cloud_bridge, graph):
    # (voice notes are heard: test_voice_notes.py)
    post_webhook(cloud_bridge, meta.batch(meta.image(PHONE), meta.unknown_type("+51911111111", "sticker")))
    graph.wait_for(2, kind="message", timeout=10)
    assert sorted(graph.texts_to(PHONE) + graph.texts_to("+51911111111")) == [UNSUPPORTED_REPLY] * 2
    post_webhook(cloud_bridge, meta.location("+51922222222", -7.16, -78.51, name="Lote 2"))
    graph.wait_for(lambda _: graph.texts_to("+51922222222"), timeout=10)
    assert "¡Hola! Soy Chasqui" in graph.texts_to("+51922222222")[0]  # the backend read it as a first message


def test_throttling_and_server_errors_are_retried_honouring_retry_after(graph, cloud_settings):
    transport = cloud_transport(cloud_settings)
    graph.fail_next(429, retry_after=1)
    started = time.monotonic()
    assert transport.send(Outbound(PHONE, "Helada esta noche")).startswith("wamid.")
    assert time.monotonic() - started >= 1.0
    graph.fail_next(500, count=2)
    transport.send(Outbound(PHONE, "Otra vez"))
    graph.fail_next(400, code=130429)  # how Meta itself reports throttling: HTTP 400, code 130429
    transport.send(Outbound(PHONE, "Y otra"))
    assert graph.texts_to(PHONE) == ["Helada esta noche", "Otra vez", "Y otra"]
    graph.fail_next(400, code=131026)  # undeliverable: retrying will not help
    with pytest.raises(SendFailed) as refused:
        transport.send(Outbound(PHONE, "Nunca"))
    assert not refused.value.retryable and "131026" in str(refused.value)


def test_sends_keep_to_the_per_number_pace(graph, cloud_settings):
    transport = cloud_transport({**cloud_settings, "sends_per_second": 20.0})
    started = time.monotonic()
    for index in range(21):
        transport.send(Outbound(PHONE, f"mensaje {index}"))
    assert time.monotonic() - started >= 0.95  # 21 sends at 20 per second take a second


def test_replies_with_buttons_and_images_use_the_documented_shapes(graph, cloud_settings):
    transport = cloud_transport(cloud_settings)
    transport.send(Outbound(PHONE, "¿Regaste hoy?", buttons=(Button("si", "Sí"), Button("no", "No"))))
    transport.send(Outbound(PHONE, "Tu progreso", image_url="https://example.org/card.png"))
    kinds = [m["type"] for m in graph.messages()]
    assert kinds == ["interactive", "image"] and graph.rejected == []


def alert_for(backend_url: str, phone: str, message: str, level: str = "alta") -> int:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = requests.post(f"{backend_url}/alert", json={"phone": phone, "message": message, "level": level},
                             headers=headers, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["alert_ids"][0]


def alert_row(backend, alert_id: int) -> dict:
    return next(opened(backend.database).query("SELECT * FROM alerts WHERE id = ?", (alert_id,)))


def test_an_alert_outside_the_24_hour_window_goes_as_the_approved_template(make_bridge, backend, graph,
                                                                           cloud_settings):
    settings = {**cloud_settings, "alert_template": "chasqui_alerta:es"}
    bridge = make_bridge(cloud_transport(settings), backend_url=backend.url, **settings)
    post_webhook(bridge, meta.text_message(PHONE, "Hola"))  # creates the contact; the window is open
    graph.wait_for(1, kind="message", timeout=10)
    alert_id = alert_for(backend.url, PHONE, "Helada esta noche")
    graph.wait_for(2, kind="message", timeout=10)
    assert graph.messages()[1]["type"] == "text"  # inside the window: plain text
    graph.close_window("+51900000009")
    requests.post(f"{backend.url}/agent", json={"phone": "+51900000009", "message": "Hola"},
                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)  # a contact who never wrote here
    alert_for(backend.url, "+51900000009", "Helada esta noche")
    graph.wait_for(lambda _: graph.sent_to("+51900000009"), timeout=10)
    template = graph.sent_to("+51900000009")[0]["template"]
    assert template["name"] == "chasqui_alerta" and template["language"] == {"code": "es"}
    assert template["components"][0]["parameters"] == [{"type": "text", "text": "Helada esta noche"}]
    assert alert_row(backend, alert_id)["status"] == "sent"


def test_status_webhooks_are_recorded_against_their_alert(cloud_bridge, backend, graph):
    post_webhook(cloud_bridge, meta.text_message(PHONE, "Hola"))
    graph.wait_for(1, kind="message", timeout=10)
    alert_id = alert_for(backend.url, PHONE, "Plaga de gusano cogollero en su zona")
    graph.wait_for(2, kind="message", timeout=10)
    wamid = [r for r in graph.accepted if r["kind"] == "message"][1]["message_id"]
    deadline = time.monotonic() + 5
    while alert_row(backend, alert_id)["provider_message_id"] != wamid and time.monotonic() < deadline:
        time.sleep(0.05)
    post_webhook(cloud_bridge, meta.status_update(wamid, "delivered", PHONE))
    post_webhook(cloud_bridge, meta.status_update(wamid, "read", PHONE))
    post_webhook(cloud_bridge, meta.status_update("wamid.not-an-alert", "read", PHONE))  # a chat reply: ignored
    deadline = time.monotonic() + 5
    while alert_row(backend, alert_id)["delivery_status"] != "read" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alert_row(backend, alert_id)["delivery_status"] == "read"


def test_the_cloud_transport_refuses_to_start_half_configured(tmp_path):
    import subprocess

    from tests.servers import CHASQUI, REPO, service_env
    env = service_env(BRIDGE_TRANSPORT="cloud", BRIDGE_PORT="0", BRIDGE_STATE_PATH=str(tmp_path / "b.db"),
                      WHATSAPP_ACCESS_TOKEN="x", WHATSAPP_PHONE_NUMBER_ID="1", WHATSAPP_APP_SECRET="",
                      WHATSAPP_VERIFY_TOKEN="", BACKEND_TOKEN="")
    result = subprocess.run(CHASQUI + ["bridge"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "BACKEND_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN" in result.stderr


def test_an_alert_with_a_picture_is_uploaded_then_sent_by_media_id(cloud_bridge, backend, graph):
    import io

    from PIL import Image

    from backend.alerts.repository import create_alert
    post_webhook(cloud_bridge, meta.text_message(PHONE, "Hola"))
    graph.wait_for(1, kind="message", timeout=10)
    picture = io.BytesIO()
    Image.new("RGB", (80, 60), (0, 128, 105)).save(picture, "PNG")
    db = opened(backend.database)
    contact_id = db.execute("SELECT id FROM contacts WHERE phone = ?", (PHONE,)).fetchone()[0]
    create_alert(db, contact_id, "Tu progreso de las últimas dos semanas", "baja", image=picture.getvalue())
    graph.wait_for(2, kind="message", timeout=10)
    image = graph.messages()[1]["image"]
    assert image["caption"] == "Tu progreso de las últimas dos semanas"
    assert graph.media[image["id"]] == picture.getvalue() and graph.rejected == []


# -- several business numbers of one Meta app ----------------------------------------------------------

def test_a_webhook_for_another_business_number_is_acknowledged_and_left_to_its_bridge(cloud_bridge, graph, backend):
    """Meta posts every number of an app to the same webhook: a bridge answers only its own."""
    other = meta.text_message(PHONE, "Hola", phone_number_id="999999999999999")
    response = post_webhook(cloud_bridge, other)
    assert response.status_code == 200 and response.json()["other_numbers"] == 1
    assert response.json()["received"] == 0
    time.sleep(0.5)
    assert graph.messages() == [] and graph.reads() == []
    assert opened(backend.database).execute("SELECT COUNT(*) FROM contacts").fetchone()[0] == 0


def test_the_bridge_tells_the_backend_its_number_and_the_contact_keeps_it(make_bridge, backend, graph,
                                                                          cloud_settings):
    bridge = make_bridge(cloud_transport(cloud_settings), backend_url=backend.url, **cloud_settings)
    post_webhook(bridge, meta.text_message(PHONE, "Hola"))
    graph.wait_for(1, kind="message", timeout=10)
    row = opened(backend.database).execute("SELECT channel FROM contacts WHERE phone = ?", (PHONE,))
    assert row.fetchone() == (graph.phone_number_id,)
