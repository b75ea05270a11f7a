"""The simulator page in a real headless Chromium (Debian's), against the bridge and the real
backend: pick a number, chat, and watch an alert arrive; rate a reply with 👍 and download a
document; send a voice note, picked as a file or recorded from Chromium's fake microphone (against the stand-in /agent/voice: the page is under
test here; the real speech engine hears notes in test_voice_end_to_end.py)."""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser import chromium_page, watch_csp_violations
from tests.whatsapp_bridge.conftest import TOKEN
from tests.whatsapp_bridge.desk_backend import DeskBackend
from tests.whatsapp_bridge.test_officers_desk import wait_until
from tests.whatsapp_bridge.voice_backend import VoiceBackend, heard_reply
from whatsapp_bridge.messages import Button, Outbound

PHONE = "+51987654321"
# A 1x1 PNG: shown inline as a data: URL, which the page's CSP allows for images.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a0f1e2be0000000049454e44ae426082")

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.timeout(180)


# A microphone that plays a beep, allowed without asking: Chromium's own switches for tests.
FAKE_MICROPHONE = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


@pytest.fixture
def page(tmp_path):
    with chromium_page(tmp_path / "chromium-profile", 420, 860, FAKE_MICROPHONE) as tab:  # a phone-sized window
        yield tab


def send(page, text: str) -> None:
    page.fill("#message", text)
    page.click("#send")


def test_a_newcomer_chats_in_the_simulator_and_sees_an_alert_arrive(make_bridge, backend, page):
    bridge = make_bridge(backend_url=backend.url)
    violations = watch_csp_violations(page)  # the page's nonce'd <style> and <script> must be allowed
    response = page.goto(f"{bridge.url}/simulator/")
    assert "nonce-" in response.headers["content-security-policy"]
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

    # A picture (as a data: URL) with a reply button: shown, and the button sends its title.
    bridge.transport.send(Outbound(PHONE, "Tu avance", buttons=(Button("ok", "Gracias"),), image=PIXEL))
    picture = page.wait_for_selector(".bubble.chasqui img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=picture)
    page.click(".buttons button:has-text('Gracias')")
    page.wait_for_selector(".bubble.user:has-text('Gracias')")
    # The number is remembered for next time.
    page.reload()  # the list of numbers is fetched after the page loads: wait for it
    page.wait_for_function("phone => [...document.querySelectorAll('#phones option')].some(o => o.value === phone)",
                           arg=PHONE, timeout=5000)
    # Styled by its own nonce'd <style> (the header's green), and nothing was refused along the way.
    assert page.locator("header").evaluate("h => getComputedStyle(h).backgroundColor") == "rgb(0, 128, 105)"
    assert violations == []


def open_chat(page, bridge) -> list[str]:
    violations = watch_csp_violations(page)
    page.goto(f"{bridge.url}/simulator/")
    page.fill("#phone", PHONE)
    page.click("#open")
    return violations


def test_a_voice_note_picked_as_a_file_is_sent_and_answered(make_bridge, page, tmp_path):
    voices = pytest.importorskip("tests.speech.voices")
    if not voices.espeak_available():
        pytest.skip("espeak-ng is missing (apt-get install espeak-ng)")
    note = tmp_path / "nota.ogg"
    note.write_bytes(voices.voice_note("ayer regué tres horas", "ogg"))
    with VoiceBackend() as backend:
        bridge = make_bridge(backend_url=backend.url)
        violations = open_chat(page, bridge)
        page.set_input_files("#audio-file", str(note))
        mine = page.wait_for_selector(".bubble.user:has-text('nota de voz')")
        assert re.match(r"🎙️ nota de voz \([1-9]\d* s\)", mine.inner_text())  # its length, as the page read it
        page.wait_for_selector(".bubble.chasqui:has-text('Entendí')")
        assert page.locator(".bubble.chasqui").first.inner_text().startswith(heard_reply(backend.transcript)[:20])
        (call,) = backend.calls
        assert call["file"]["data"] == note.read_bytes() and call["file"]["content_type"] == "audio/ogg"
        assert backend.problems == [] and violations == []


def test_a_voice_note_recorded_from_the_microphone_is_sent_and_answered(make_bridge, page):
    with VoiceBackend() as backend:
        bridge = make_bridge(backend_url=backend.url)
        violations = open_chat(page, bridge)
        page.click("#record")
        page.wait_for_selector("#typing:has-text('Grabando')")
        page.wait_for_timeout(1600)
        page.click("#record")  # stop: the note goes
        mine = page.wait_for_selector(".bubble.user:has-text('nota de voz')")
        assert re.match(r"🎙️ nota de voz \([12] s\)", mine.inner_text())
        page.wait_for_selector(".bubble.chasqui:has-text('Entendí')")
        (call,) = backend.calls
        recorded = call["file"]
        assert recorded["content_type"].startswith(("audio/webm", "audio/ogg")) and len(recorded["data"]) > 1000
        assert recorded["data"][:4] in (b"\x1aE\xdf\xa3", b"OggS")  # a WebM (Matroska) or OGG container
        assert backend.problems == [] and violations == []


def test_a_thumbs_up_on_a_reply_rates_it_and_a_document_downloads(make_bridge, page):
    """Against DeskBackend (the backend's /agent/reaction is being built; the stand-in keeps its contract)."""
    with DeskBackend() as desk:
        bridge = make_bridge(backend_url=desk.url, alert_long_poll_s=0.0, alert_poll_s=0.2)
        violations = open_chat(page, bridge)
        send(page, "Hola")
        reply = page.wait_for_selector(".bubble.chasqui:has-text('Respuesta normal.')")
        reply.query_selector(".reactions button:has-text('👍')").click()
        page.wait_for_selector(".bubble.chasqui .reactions button.chosen:has-text('👍')")
        wait_until(lambda: desk.reactions, what="POST /agent/reaction")
        (rated,) = desk.reactions
        assert rated["emoji"] == "👍" and rated["reacted_to"] == reply.get_attribute("data-id")
        assert rated["reply_to"] == desk.agent_calls[0]["message_id"]
        reply.query_selector(".reactions button:has-text('👍')").click()  # again: taken away
        page.wait_for_function("() => !document.querySelector('.reactions button.chosen')")
        wait_until(lambda: len(desk.reactions) == 2, what="the removal")
        assert desk.reactions[1]["emoji"] == ""

        bridge.transport.send(Outbound(PHONE, "Tus datos", purpose="document", document=b"nombre: Rosa\n",
                                       document_name="mis_datos.txt", document_type="text/plain"))
        link = page.wait_for_selector(".bubble a.document:has-text('mis_datos.txt')")
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "mis_datos.txt"
        bridge.transport.send(Outbound(PHONE, "Soy Ana, te ayudo.", officer=True))
        page.wait_for_selector(".bubble.chasqui:has-text('👤 una persona'):has-text('Soy Ana')")
        assert violations == [] and desk.problems == []
