"""Alerts from the real backend's queue to the phone: the long-poll fast path, the plain polling
fallback, a failed send reported as failed, and an alert claimed by a bridge that died handed out
again by the backend's lease."""
from __future__ import annotations

import time

import requests

from tests.databases import opened
from tests.whatsapp_bridge.conftest import TOKEN, onboard, wait_for_replies
from whatsapp_bridge.backend_client import BackendClient
from whatsapp_bridge.messages import SendFailed
from whatsapp_bridge.transports.simulator import SimulatorTransport

PHONE = "+51987654321"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def create_alert(backend, message: str, level: str = "alta") -> int:
    response = requests.post(f"{backend.url}/alert", json={"phone": PHONE, "message": message, "level": level},
                             headers=AUTH, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["alert_ids"][0]


def alert_status(backend, alert_id: int) -> tuple[str, int, str | None]:
    return opened(backend.database).execute("SELECT status, attempts, last_error FROM alerts WHERE id = ?",
                                                  (alert_id,)).fetchone()


def wait_status(backend, alert_id: int, status: str, timeout_s: float = 10) -> tuple:
    deadline = time.monotonic() + timeout_s
    while (row := alert_status(backend, alert_id))[0] != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return row


def test_an_urgent_alert_arrives_within_a_second_through_the_long_poll(make_bridge, backend):
    bridge = make_bridge(backend_url=backend.url, alert_poll_s=30.0, alert_long_poll_s=20.0)
    onboard(bridge, PHONE)
    time.sleep(0.3)  # the alert thread is now waiting inside GET /alerts/pending?wait=20
    created = time.monotonic()
    alert_id = create_alert(backend, "Helada esta noche: cubra sus cultivos.")
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="alert", timeout_s=5) == [
        "Helada esta noche: cubra sus cultivos."]
    assert time.monotonic() - created < 1.5  # not the 30 s polling interval
    assert wait_status(backend, alert_id, "sent")[0] == "sent"


def test_without_long_polling_the_bridge_polls_on_its_interval(make_bridge, backend):
    bridge = make_bridge(backend_url=backend.url, alert_poll_s=0.5, alert_long_poll_s=0.0)
    onboard(bridge, PHONE)
    alert_id = create_alert(backend, "Lluvias fuertes mañana", level="media")
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="alert", timeout_s=5) == ["Lluvias fuertes mañana"]
    assert wait_status(backend, alert_id, "sent")[0] == "sent"


class RefusingTransport(SimulatorTransport):
    def send(self, message):
        if message.purpose == "alert":
            raise SendFailed("Graph API HTTP 400, code 131026: message undeliverable")
        return super().send(message)


def test_a_send_the_provider_refuses_is_reported_failed_with_its_reason(make_bridge, backend):
    bridge = make_bridge(RefusingTransport(), backend_url=backend.url)
    onboard(bridge, PHONE)
    alert_id = create_alert(backend, "Helada")
    deadline = time.monotonic() + 5
    while alert_status(backend, alert_id)[2] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    status, attempts, error = alert_status(backend, alert_id)
    assert attempts >= 1 and "131026" in error and status in ("pending", "claimed", "failed")
    assert wait_for_replies(bridge.transport, PHONE, 0, kind="alert") == []


def test_an_alert_claimed_by_a_bridge_that_died_is_delivered_by_the_next_one(make_bridge, backend):
    onboarding_bridge = make_bridge(backend_url=backend.url, alert_long_poll_s=0.0, alert_poll_s=60.0)
    onboard(onboarding_bridge, PHONE)
    onboarding_bridge.stop()
    alert_id = create_alert(backend, "Plaga en su zona")
    dead = BackendClient(backend.url, TOKEN, 10).claim_alerts(10)  # claimed, then the bridge "died"
    assert [a["id"] for a in dead] == [alert_id]
    survivor = make_bridge(SimulatorTransport(), backend_url=backend.url, alert_poll_s=0.3,
                           alert_long_poll_s=0.0)
    # The backend under test leases for 2 s (ALERT_LEASE_SECONDS): then the survivor gets it.
    assert wait_for_replies(survivor.transport, PHONE, 1, kind="alert", timeout_s=10) == ["Plaga en su zona"]
    assert alert_status(backend, alert_id)[:2] == ("sent", 2)


def test_a_bridge_stopping_during_a_long_poll_hands_its_claim_back(make_bridge, backend):
    first = make_bridge(backend_url=backend.url, alert_long_poll_s=20.0)
    onboard(first, PHONE)
    time.sleep(0.3)
    first.stop()  # its alert thread is still waiting inside GET /alerts/pending?wait=20
    alert_id = create_alert(backend, "Helada esta noche")
    deadline = time.monotonic() + 5
    while first.bridge.alerts.released < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.bridge.alerts.released == 1 and alert_status(backend, alert_id)[:2] == ("pending", 0)
    second = make_bridge(SimulatorTransport(), backend_url=backend.url, alert_long_poll_s=5.0)
    assert wait_for_replies(second.transport, PHONE, 1, kind="alert", timeout_s=10) == ["Helada esta noche"]
    assert first.transport.conversation(PHONE)[-1]["kind"] != "alert"
    assert alert_status(backend, alert_id)[:2] == ("sent", 1)  # released, not expired: one attempt counted


def test_a_picture_alert_shows_in_the_simulator_with_its_caption(make_bridge, backend):
    import base64
    import io

    from PIL import Image

    from backend.alerts.repository import create_alert
    bridge = make_bridge(backend_url=backend.url)
    onboard(bridge, PHONE)
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 0, 0)).save(picture, "PNG")
    db = opened(backend.database)
    create_alert(db, 1, "Tu tarjeta de progreso", "baja", image=picture.getvalue())
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="alert") == ["Tu tarjeta de progreso"]
    shown = [m for m in bridge.transport.conversation(PHONE) if m["kind"] == "alert"][0]["image_url"]
    assert base64.b64decode(shown.split(",", 1)[1]) == picture.getvalue()
