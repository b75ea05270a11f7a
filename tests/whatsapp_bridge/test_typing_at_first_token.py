""""escribiendo…" when the model really starts writing: Meta's webhook in, the bridge, a real
backend process whose model API (SmolLM2 GGUF) streams over /v1, and the fake Graph API. The
message is marked read with the typing indicator on arrival, and again at the answer's first
token; a turn answered by code gets the indicator once."""
from __future__ import annotations

import time

import pytest

from tests.servers import start_backend
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.conftest import TOKEN, cloud_transport, post_webhook

PHONE = "+51987650001"


@pytest.fixture
def streaming_backend(tmp_path, small_api):
    service = start_backend(tmp_path, f"{small_api.url}/v1", BACKEND_TOKEN=TOKEN, CHASQUI_LOG_LEVEL="WARNING")
    yield service
    service.stop()


def send(bridge, graph, text: str, replies_before: int) -> str:
    incoming = meta.text_message(PHONE, text)
    assert post_webhook(bridge, incoming).status_code == 200
    graph.wait_for(replies_before + 1, kind="message", timeout=90)
    return incoming["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def test_typing_is_shown_again_at_the_models_first_token(make_bridge, streaming_backend, graph, cloud_settings):
    bridge = make_bridge(cloud_transport(cloud_settings), backend_url=streaming_backend.url, **cloud_settings)
    for count, text in enumerate(("Hola", "Cajamarca")):  # the name comes with the webhook's profile
        send(bridge, graph, text, count)
    code_turn = send(bridge, graph, "¿cuántas notas tengo?", 2)
    open_turn = send(bridge, graph, "¿Qué opinas de la lluvia en Cajamarca?", 3)
    time.sleep(0.2)
    reads = [r["message_id"] for r in graph.reads()]
    assert reads.count(code_turn) == 1  # on arrival only: answered by code, no model token
    assert reads.count(open_turn) == 2  # on arrival, and when the model began to write
    assert all(r.get("typing_indicator") == {"type": "text"} for r in graph.reads())
    assert graph.rejected == []
