"""The officer's desk through the Cloud API transport: Meta's reaction webhooks in (built in the
documented shape), documents and notices out through the fake Graph API (strict about Meta's
formats and supported media types), and DeskBackend as the backend's side of the contract."""
from __future__ import annotations

import time

import pytest

from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.conftest import cloud_transport, post_webhook, wait_for_counts
from tests.whatsapp_bridge.desk_backend import DeskBackend
from tests.whatsapp_bridge.test_officers_desk import QUEUE, wait_until

PHONE = "+51987654321"


@pytest.fixture
def desk():
    with DeskBackend() as backend:
        yield backend
    assert backend.problems == []


@pytest.fixture
def cloud_bridge(make_bridge, desk, cloud_settings):
    return make_bridge(cloud_transport(cloud_settings), backend_url=desk.url, **cloud_settings, **QUEUE)


def message_id_of(payload: dict) -> str:
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def answered(cloud_bridge, graph) -> tuple[str, str]:
    """A text webhook answered: (the user's wamid, our reply's wamid as Graph gave it)."""
    incoming = meta.text_message(PHONE, "Hola")
    assert post_webhook(cloud_bridge, incoming).status_code == 200
    records = graph.wait_for(1, kind="message", timeout=10)
    return message_id_of(incoming), records[-1]["message_id"]


def test_a_reaction_webhook_is_posted_with_the_message_the_reacted_reply_answered(cloud_bridge, graph, desk):
    inbound_id, reply_id = answered(cloud_bridge, graph)
    webhook = meta.reaction(PHONE, reply_id, "👍🏽")
    response = post_webhook(cloud_bridge, webhook)
    assert response.status_code == 200 and response.json()["received"] == 1
    wait_until(lambda: desk.reactions, what="POST /agent/reaction")
    assert desk.reactions == [{"phone": PHONE, "message_id": message_id_of(webhook), "reacted_to": reply_id,
                               "emoji": "👍🏽", "reply_to": inbound_id}]
    wait_for_counts(cloud_bridge, {"answered": 2})
    assert len(graph.messages()) == 1 and graph.rejected == []  # nothing sent for a rating
    assert len(graph.reads()) == 1  # nor marked read with "typing…": that was the text's


def test_a_removed_reaction_and_a_repeated_webhook(cloud_bridge, graph, desk):
    _, reply_id = answered(cloud_bridge, graph)
    removed = meta.reaction(PHONE, reply_id, None)  # Meta leaves emoji out
    for _ in range(3):  # Meta retries a webhook it thinks was lost
        assert post_webhook(cloud_bridge, removed).status_code == 200
    wait_for_counts(cloud_bridge, {"answered": 2})
    time.sleep(0.3)
    assert [(r["emoji"], r["reacted_to"]) for r in desk.reactions] == [("", reply_id)]


def test_a_reaction_to_an_unknown_message_goes_without_reply_to(cloud_bridge, desk):
    post_webhook(cloud_bridge, meta.reaction(PHONE, "wamid.SOMETHING_ELSE", "😮"))
    wait_until(lambda: desk.reactions, what="POST /agent/reaction")
    assert "reply_to" not in desk.reactions[0]


def test_a_broken_reaction_is_acknowledged_logged_and_the_rest_read(cloud_bridge, desk, caplog):
    no_target = meta.reaction(PHONE, "wamid.X")
    del no_target["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"]["message_id"]
    not_an_object = meta.reaction(PHONE, "wamid.X")
    not_an_object["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"] = "👍"
    response = post_webhook(cloud_bridge, meta.batch(no_target, not_an_object, meta.text_message(PHONE, "Hola")))
    assert response.status_code == 200 and response.json() == {"received": 1, "statuses": 0, "ignored": 2}
    assert [r.message for r in caplog.records].count("webhook part ignored") == 2
    assert "a reaction without 'reaction.message_id'" in [getattr(r, "error", "") for r in caplog.records]
    wait_for_counts(cloud_bridge, {"answered": 1})
    assert desk.reactions == [] and len(desk.agent_calls) == 1


def test_a_document_item_is_uploaded_and_sent_as_a_document_and_reported_with_graphs_id(cloud_bridge, graph, desk):
    answered(cloud_bridge, graph)  # the 24-hour window is open
    export = b"nombre: Rosa\nmensajes: 12\n"
    desk.documents[5] = export
    desk.queue.append({"id": 5, "phone": PHONE, "message": "Aquí están tus datos.", "level": "baja",
                       "kind": "document", "document_url": "/alerts/5/document", "document_name": "mis_datos.txt",
                       "document_type": "text/plain"})
    report = wait_until(lambda: desk.sent_reports(), what="the sent report")[0]
    (media_id, upload), = graph.uploads.items()
    assert upload == {"type": "text/plain", "filename": "mis_datos.txt", "bytes": len(export)}
    assert graph.media[media_id] == export
    sent = graph.messages()[-1]
    assert sent["type"] == "document" and sent["document"] == {"id": media_id, "filename": "mis_datos.txt",
                                                               "caption": "Aquí están tus datos."}
    assert report == {"lease_token": "lease-5", "provider_message_id": graph.accepted[-1]["message_id"]}


def test_a_document_of_a_type_whatsapp_does_not_take_is_reported_failed_with_metas_reason(cloud_bridge, graph, desk):
    """application/json is not among the Cloud API's document types: Meta refuses the upload."""
    desk.documents[6] = b'{"nombre": "Rosa"}'
    desk.queue.append({"id": 6, "phone": PHONE, "message": "Tus datos", "level": "baja", "kind": "document",
                       "document_url": "/alerts/6/document", "document_name": "mis_datos.json",
                       "document_type": "application/json"})
    failed = wait_until(lambda: [body for path, body in desk.reports if path == "/alerts/6/failed"])[0]
    assert "'mis_datos.json' (application/json, 18 bytes)" in failed["error"] and "code 100" in failed["error"]
    assert graph.messages() == []


def test_outside_the_window_a_notice_goes_as_the_template_and_a_document_is_not_faked(
        make_bridge, desk, graph, cloud_settings):
    bridge = make_bridge(cloud_transport(cloud_settings), backend_url=desk.url, alert_template="chasqui_aviso:es",
                         **cloud_settings, **QUEUE)
    graph.close_window(PHONE)
    desk.documents[12] = b"%PDF-1.7"
    desk.queue += [{"id": 11, "phone": PHONE, "message": "El asistente vuelve a atenderte.", "level": "baja",
                    "kind": "notice"},
                   {"id": 12, "phone": PHONE, "message": "Tus datos", "level": "baja", "kind": "document",
                    "document_url": "/alerts/12/document", "document_name": "mis_datos.pdf",
                    "document_type": "application/pdf"}]
    wait_until(lambda: len(desk.reports) == 2, what="two reports")
    (template,) = graph.messages()
    assert template["template"]["name"] == "chasqui_aviso"
    assert template["template"]["components"][0]["parameters"][0]["text"] == "El asistente vuelve a atenderte."
    failed = [body for path, body in desk.reports if path == "/alerts/12/failed"][0]
    assert "131047" in failed["error"]
    assert bridge.bridge.alerts.sent == 1
