"""The simulator page in a real headless Chromium (Debian's), against the bridge and the real
backend: pick a number, chat, and watch an alert arrive."""
from __future__ import annotations

import pytest
import requests

from tests.browser import chromium_page
from tests.whatsapp_bridge.conftest import TOKEN

PHONE = "+51987654321"

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def page(tmp_path):
    with chromium_page(tmp_path / "chromium-profile", 420, 860) as tab:  # a phone-sized window
        yield tab


def send(page, text: str) -> None:
    page.fill("#message", text)
    page.click("#send")


def test_a_newcomer_chats_in_the_simulator_and_sees_an_alert_arrive(make_bridge, backend, page):
    bridge = make_bridge(backend_url=backend.url)
    page.goto(f"{bridge.url}/simulator/")
    assert page.locator("#message").is_disabled()  # no chat until a number is chosen
    page.fill("#phone", PHONE)
    page.click("#open")
    send(page, "Hola")
    page.wait_for_selector(".bubble.chasqui:has-text('¿Cómo te llamas?')")
    send(page, "Rosa")
    page.wait_for_selector(".bubble.chasqui:has-text('ciudad')")
    send(page, "Cajamarca")
    page.wait_for_selector(".bubble.chasqui:has-text('Listo, Rosa')")
    assert page.locator(".bubble.user").all_inner_texts()[0].startswith("Hola")

    created = requests.post(f"{backend.url}/alert", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5,
                            json={"phone": PHONE, "message": "Helada esta noche: cubra sus cultivos.",
                                  "level": "alta"})
    assert created.status_code == 201
    alert = page.wait_for_selector(".bubble.alert")
    assert "Helada esta noche" in alert.inner_text()
    # The number is remembered for next time.
    page.reload()
    assert PHONE in page.locator("#phones option").evaluate_all("options => options.map(o => o.value)")
