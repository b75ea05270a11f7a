"""The whole stack as deployed, each service its own process talking HTTP: the real model API on
a small GGUF, the real backend, and `chasqui bridge` on the Cloud API transport, fed signed
webhooks in Meta's format and answering into the local fake Graph API."""
from __future__ import annotations

import requests

from tests.servers import CHASQUI, RunningService, free_port, service_env, start_backend
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI

APP_SECRET = "e2e-app-secret"
TOKEN = "e2e-bridge-token"
PHONE = "+51987654321"


def test_a_whatsapp_user_onboards_and_gets_a_model_answer_through_all_three_services(tmp_path, small_api):
    backend = start_backend(tmp_path, small_api.url, BACKEND_TOKEN=TOKEN)
    with FakeGraphAPI() as graph:
        port = free_port()
        env = service_env(BRIDGE_TRANSPORT="cloud", BRIDGE_PORT=str(port), BACKEND_URL=backend.url,
                          BACKEND_TOKEN=TOKEN, BRIDGE_STATE_PATH=str(tmp_path / "bridge.db"),
                          WHATSAPP_GRAPH_API_URL=graph.base_url, WHATSAPP_ACCESS_TOKEN=graph.access_token,
                          WHATSAPP_PHONE_NUMBER_ID=graph.phone_number_id, WHATSAPP_APP_SECRET=APP_SECRET,
                          WHATSAPP_VERIFY_TOKEN="e2e-verify")
        bridge = RunningService(CHASQUI + ["bridge"], env, port, tmp_path / "bridge.log")
        try:
            bridge.wait_ready(timeout_s=30)
            assert requests.get(f"{bridge.url}/health", timeout=5).json()["backend"] == "ready"
            # Meta's webhook carries the profile name ("Rosa"): onboarding uses it instead of asking.
            for count, text in enumerate(["Hola", "Cajamarca", "¿Qué notas tengo guardadas?"], start=1):
                raw, headers = meta.signed_post_args(meta.text_message(PHONE, text), APP_SECRET)
                assert requests.post(f"{bridge.url}/webhook", data=raw, headers=headers, timeout=5).status_code == 200
                graph.wait_for(count, kind="message", timeout=120)
            replies = graph.texts_to(PHONE)
            assert "¿En qué ciudad vives?" in replies[0] and "Listo, Rosa" in replies[1]
            assert replies[2].strip() and replies[2] not in replies[:2]  # the model's (or the apology's) words
            assert graph.rejected == []
        finally:
            bridge.stop()
            backend.stop()
