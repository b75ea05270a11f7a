"""Voice notes through the whole stack: the bridge in this process, the real backend subprocess
(POST /agent/voice) and a real model API subprocess whose speech engine (faster-whisper, the
embedded whisper-base) hears Spanish notes spoken by espeak-ng (tests/speech/voices.py); the
backend's answering model stays the scripted one. From the simulator and from the Cloud API's
webhook (the audio in the fake Graph API): heard and answered «🎙️ Entendí: "…"», once, across
a retried webhook and a restart; silence and broken audio get the backend's own Spanish reply."""
from __future__ import annotations

import time

import pytest
import requests

from tests.databases import opened
from tests.backend.scripted_model import ScriptedModel
from tests.servers import free_port, start_backend
from tests.speech import conftest as speech
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.conftest import TOKEN, cloud_transport, post_webhook, wait_for_counts, wait_for_replies
from whatsapp_bridge.relay import BACKEND_DOWN_REPLY

voices = pytest.importorskip("tests.speech.voices")
pytestmark = pytest.mark.timeout(300)

speech_api = speech.speech_api  # the real model API of the module, its speech engine ready
HEARD = '🎙️ Entendí: "'
SENTENCE = "ayer regué tres horas"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, speech_api):
    """The real backend, hearing with the model API's speech engine and answering with a script."""
    model = ScriptedModel().answer_by_default("Bien, lo anoté.")
    backend = start_backend(tmp_path_factory.mktemp("backend"), model.url, BACKEND_TOKEN=TOKEN,
                            SPEECH_API_URL=speech_api.url, CHASQUI_LOG_LEVEL="WARNING")
    yield backend
    backend.stop()
    model.stop()


@pytest.fixture(scope="module")
def spoken_note() -> bytes:
    return voices.voice_note(SENTENCE, "ogg")


def voice_notes_of(backend, message_id: str) -> list[tuple]:
    return opened(backend.database).execute(
        "SELECT transcript, problem FROM voice_notes WHERE wa_message_id = ?", (message_id,)).fetchall()


def heard_in_inbox(bridge) -> list[str | None]:
    return [row[0] for row in bridge.bridge.inbox.execute("SELECT heard FROM inbox ORDER BY id").fetchall()]


def post_voice(bridge, phone: str, data: bytes, mime_type: str = "audio/ogg"):
    response = requests.post(f"{bridge.url}/simulator/api/voice", data={"phone": phone, "seconds": "2"},
                             files={"file": ("nota.ogg", data, mime_type)}, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def assert_heard_sentence(reply: str, heard: str) -> None:
    """Something was heard, and the reply shows it first. Not which words: whisper-base hears
    espeak's robot voice differently from one run to the next (how well it hears is the model
    API's to measure: bench/speech.py)."""
    assert heard.strip(), reply
    assert reply.startswith(f'{HEARD}{heard}"') or reply.startswith(f'{HEARD}{heard[:150]}'), (reply, heard)


def test_a_spoken_note_from_the_simulator_is_heard_and_answered(make_bridge, stack, spoken_note):
    phone = "+51987650001"
    bridge = make_bridge(backend_url=stack.url)
    message_id = post_voice(bridge, phone, spoken_note)
    (reply,) = wait_for_replies(bridge.transport, phone, 1, timeout_s=90)
    (heard,) = heard_in_inbox(bridge)
    assert_heard_sentence(reply, heard)
    assert voice_notes_of(stack, message_id) == [(heard, None)]  # the backend keeps the note and what it heard


def test_a_webhook_note_retried_by_meta_is_heard_and_answered_once(make_bridge, stack, spoken_note, graph,
                                                                   cloud_settings):
    phone = "+51987650002"
    bridge = make_bridge(cloud_transport(cloud_settings), backend_url=stack.url, **cloud_settings)
    media_id = graph.add_received_media(spoken_note, "audio/ogg")
    incoming = meta.audio(phone, media_id=media_id)
    for _ in range(2):
        assert post_webhook(bridge, incoming).status_code == 200
    graph.wait_for(lambda _: graph.texts_to(phone), timeout=90)
    time.sleep(1)
    (reply,) = graph.texts_to(phone)
    (heard,) = heard_in_inbox(bridge)
    assert_heard_sentence(reply, heard)
    assert graph.downloads_of(media_id) == 1
    assert voice_notes_of(stack, meta_message_id(incoming)) == [(heard, None)]


def test_a_bridge_restarted_after_fetching_a_note_has_it_heard_without_fetching_again(
        make_bridge, stack, spoken_note, graph, cloud_settings):
    phone = "+51987650003"
    settings = dict(cloud_settings)
    first = make_bridge(cloud_transport(settings), backend_url=f"http://127.0.0.1:{free_port()}", **settings)
    media_id = graph.add_received_media(spoken_note)
    post_webhook(first, meta.audio(phone, media_id=media_id))
    graph.wait_for(lambda _: graph.texts_to(phone) == [BACKEND_DOWN_REPLY], timeout=10)
    deadline = time.monotonic() + 10
    while not first.bridge.inbox.execute("SELECT audio IS NOT NULL FROM inbox").fetchone()[0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.stop()  # the backend never answered
    second = make_bridge(cloud_transport(settings), backend_url=stack.url, **settings)
    graph.wait_for(lambda _: len(graph.texts_to(phone)) == 2, timeout=90)
    assert graph.texts_to(phone)[1].startswith(HEARD)
    assert graph.downloads_of(media_id) == 1
    wait_for_counts(second, {"answered": 1})


@pytest.mark.parametrize("phone, audio", [
    ("+51987650004", lambda: voices.silence(3)),  # a pocket recording
    ("+51987650005", lambda: b"OggS" + bytes(range(256)) * 40),  # broken on the way
], ids=["silence", "broken"])
def test_notes_without_words_get_the_backends_spanish_reply(make_bridge, stack, phone, audio):
    bridge = make_bridge(backend_url=stack.url)
    message_id = post_voice(bridge, phone, audio())
    (reply,) = wait_for_replies(bridge.transport, phone, 1, timeout_s=90)
    assert not reply.startswith(HEARD) and "🎙️" in reply, reply
    assert heard_in_inbox(bridge) == [""]
    wait_for_counts(bridge, {"answered": 1})  # a 200: nothing to retry, nothing refused
    assert voice_notes_of(stack, message_id)[0][0] == ""


def meta_message_id(payload: dict) -> str:
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
