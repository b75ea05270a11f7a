"""Voice notes through the bridge, against a stand-in /agent/voice that checks the contract
(voice_backend.py): from the simulator's upload route and from the Cloud API's webhook (the audio
fetched from the fake Graph API in the relay's worker), kept in the inbox before the backend hears
them, answered once, never fetched twice, and refused kindly when they cannot be had; and once
through the real backend with a stand-in speech engine. The same paths through the real backend
and the real speech engine: test_voice_end_to_end.py."""
from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
import requests

from tests.servers import free_port, start_backend
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.conftest import TOKEN, cloud_transport, post_webhook, wait_for_counts, wait_for_replies
from tests.whatsapp_bridge.voice_backend import SpeechStandIn, VoiceBackend, heard_reply
from whatsapp_bridge import relay
from whatsapp_bridge.inbox import Inbox
from whatsapp_bridge.media import AudioFile
from whatsapp_bridge.messages import AUDIO, Inbound
from whatsapp_bridge.relay import AUDIO_REPLIES, AUDIO_UNREADABLE_REPLY, BACKEND_DOWN_REPLY, HOLDING_REPLY
from whatsapp_bridge.transports.simulator import SimulatorTransport

PHONE = "+51987654321"
NOTE = b"OggS\x00\x02" + os.urandom(30_000)  # the stand-in never decodes: any bytes do


@pytest.fixture
def voice_backend():
    with VoiceBackend() as backend:
        yield backend


def post_voice(bridge, data: bytes = NOTE, mime_type: str = "audio/ogg", phone: str = PHONE, seconds="2.4",
               filename: str = "nota.ogg"):
    return requests.post(f"{bridge.url}/simulator/api/voice", data={"phone": phone, "seconds": seconds},
                         files={"file": (filename, data, mime_type)}, timeout=10)


def rows(bridge) -> list[dict]:
    cursor = bridge.bridge.inbox.execute("SELECT kind, status, media, audio, heard, refusal, attempts FROM inbox")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def wait_until(condition, timeout_s: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        time.sleep(0.05)
    return result


# -- the simulator ------------------------------------------------------------------------------------
def test_a_simulator_voice_note_reaches_the_backend_as_the_contract_says(make_bridge, voice_backend):
    bridge = make_bridge(backend_url=voice_backend.url)
    response = post_voice(bridge)
    assert response.status_code == 202, response.text
    assert wait_for_replies(bridge.transport, PHONE, 1) == [heard_reply(voice_backend.transcript)]
    mine = [m for m in bridge.transport.conversation(PHONE) if m["from"] == "user"]
    assert [m["text"] for m in mine] == ["🎙️ nota de voz (2 s)"]
    (call,) = voice_backend.calls
    assert voice_backend.problems == []
    assert call["fields"] == {"phone": PHONE, "message_id": response.json()["id"], "role": "consulta"}
    assert call["file"] == {"filename": "voice.ogg", "content_type": "audio/ogg", "data": NOTE}
    wait_for_counts(bridge, {"answered": 1})
    (row,) = rows(bridge)
    assert (row["kind"], row["heard"], row["audio"]) == ("audio", voice_backend.transcript, None)  # the backend keeps it
    assert json.loads(row["media"]) == {"mime_type": "audio/ogg", "seconds": 2.4}


def test_the_simulator_refuses_what_is_no_voice_note_and_keeps_nothing(make_bridge):
    bridge = make_bridge(SimulatorTransport(max_audio_bytes=4096))
    url = f"{bridge.url}/simulator/api/voice"
    refusals = [
        (requests.post(url, json={"phone": PHONE}, timeout=5), 400, "file"),
        (requests.post(url, data={"phone": PHONE}, files={"other": ("x.ogg", NOTE[:100])}, timeout=5), 400, "file"),
        (post_voice(bridge, b"hola", "text/plain", filename="nota.txt"), 400, "file"),
        (post_voice(bridge, b"", "audio/ogg"), 400, "file"),
        (post_voice(bridge, NOTE[:100], phone="123"), 400, "phone"),
        (post_voice(bridge, NOTE[:5000]), 413, "file"),  # over the limit, within the form's room
        (post_voice(bridge, NOTE * 4), 413, "file"),  # over the form's room: refused while reading
    ]
    for response, status, param in refusals:
        assert response.status_code == status, response.text
        assert response.json()["error"]["param"] == param, response.text
    assert "4096 bytes" in refusals[-1][0].json()["error"]["message"]
    assert bridge.bridge.inbox.counts() == {} and bridge.transport.conversation(PHONE) == []
    guessed = post_voice(bridge, NOTE[:100], "application/octet-stream", filename="nota.ogg", seconds="nan")
    assert guessed.status_code == 202  # the type told by the file's name; an unusable length is left unknown
    assert bridge.transport.conversation(PHONE)[0]["text"] == "🎙️ nota de voz"


def test_a_note_waits_while_the_speech_engine_is_busy_then_is_heard_once(make_bridge):
    with VoiceBackend(statuses=[503, 503, 200]) as backend:
        bridge = make_bridge(backend_url=backend.url)
        post_voice(bridge)
        assert wait_for_replies(bridge.transport, PHONE, 1, timeout_s=20) == [heard_reply(backend.transcript)]
        assert wait_for_replies(bridge.transport, PHONE, 1, kind="holding") == [BACKEND_DOWN_REPLY]
        assert len(backend.calls) == 3 and len({call["fields"]["message_id"] for call in backend.calls}) == 1
        assert all(call["file"]["data"] == NOTE for call in backend.calls)


def test_a_slow_transcription_shows_typing_then_one_holding_note(make_bridge):
    with VoiceBackend(delay_s=1.2) as backend:
        bridge = make_bridge(backend_url=backend.url, holding_after_s=0.3)
        post_voice(bridge)
        time.sleep(0.15)
        assert requests.get(f"{bridge.url}/simulator/api/messages", params={"phone": PHONE, "after": 10**6},
                            timeout=5).json()["typing"] is True
        assert wait_for_replies(bridge.transport, PHONE, 1, kind="holding") == [HOLDING_REPLY]
        assert wait_for_replies(bridge.transport, PHONE, 1) == [heard_reply(backend.transcript)]


def test_a_note_over_the_backends_limit_gets_the_too_large_reply(make_bridge):
    with VoiceBackend(statuses=[413]) as backend:
        bridge = make_bridge(backend_url=backend.url)
        post_voice(bridge)
        assert wait_for_replies(bridge.transport, PHONE, 1) == [AUDIO_REPLIES["too_large"]]
        wait_for_counts(bridge, {"answered": 1, "refused": 1})


def test_a_note_through_the_real_backend_is_heard_once_and_answered(make_bridge, tmp_path, model):
    with SpeechStandIn("¿cuándo riego?") as speech:
        backend = start_backend(tmp_path, model.url, BACKEND_TOKEN=TOKEN, SPEECH_API_URL=speech.url,
                                CHASQUI_LOG_LEVEL="WARNING")
        try:
            bridge = make_bridge(backend_url=backend.url)
            post_voice(bridge)
            (reply,) = wait_for_replies(bridge.transport, PHONE, 1)
            assert reply.startswith('🎙️ Entendí: "¿cuándo riego?"\n\n') and speech.calls == 1
            assert [row["heard"] for row in rows(bridge)] == ["¿cuándo riego?"]
        finally:
            backend.stop()


# -- the Cloud API --------------------------------------------------------------------------------------
def cloud_bridge(make_bridge, cloud_settings, backend_url: str, **overrides):
    settings = {**cloud_settings, **overrides}
    return make_bridge(cloud_transport(settings), backend_url=backend_url, **settings)


def test_a_webhook_voice_note_is_fetched_in_the_worker_and_answered_once(make_bridge, voice_backend, graph,
                                                                         cloud_settings):
    bridge = cloud_bridge(make_bridge, cloud_settings, voice_backend.url)
    media_id = graph.add_received_media(NOTE, "audio/ogg")
    incoming = meta.audio(PHONE, media_id=media_id)
    graph.delay_next(1.5, on="download")  # a slow download must not hold the webhook's answer
    started = time.monotonic()
    assert post_webhook(bridge, incoming).status_code == 200
    assert time.monotonic() - started < 1.0
    assert post_webhook(bridge, incoming).status_code == 200  # Meta retries: the same note
    graph.wait_for(1, kind="message", timeout=10)
    time.sleep(0.5)
    assert graph.texts_to(PHONE) == [heard_reply(voice_backend.transcript)]
    assert graph.downloads_of(media_id) == 1 and len(voice_backend.calls) == 1
    call = voice_backend.calls[0]
    assert call["file"]["data"] == NOTE and call["file"]["content_type"] == "audio/ogg; codecs=opus"
    assert call["fields"]["name"] == "Rosa" and voice_backend.problems == []
    (row,) = rows(bridge)
    assert json.loads(row["media"]) == {"media_id": media_id, "mime_type": "audio/ogg; codecs=opus", "voice": True,
                                        "bytes": len(NOTE)}
    assert row["heard"] == voice_backend.transcript and row["audio"] is None


def test_a_bridge_restarted_after_fetching_a_note_answers_it_without_fetching_again(make_bridge, voice_backend,
                                                                                  graph, cloud_settings):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens: the backend is down
    first = cloud_bridge(make_bridge, cloud_settings, down)
    media_id = graph.add_received_media(NOTE)
    post_webhook(first, meta.audio(PHONE, media_id=media_id))
    wait_until(lambda: [r for r in rows(first) if r["audio"] and r["attempts"]], what="the note fetched and kept")
    first.stop()  # killed before the backend could answer
    assert graph.texts_to(PHONE) == [BACKEND_DOWN_REPLY]

    second = cloud_bridge(make_bridge, cloud_settings, voice_backend.url)  # the same inbox file
    graph.wait_for(2, kind="message", timeout=10)
    assert graph.texts_to(PHONE) == [BACKEND_DOWN_REPLY, heard_reply(voice_backend.transcript)]
    assert graph.downloads_of(media_id) == 1  # from the inbox, not fetched again
    assert [call["file"]["data"] for call in voice_backend.calls] == [NOTE]
    wait_for_counts(second, {"answered": 1})


def test_notes_that_cannot_be_had_are_answered_kindly_and_marked_refused(make_bridge, voice_backend, graph,
                                                                         cloud_settings):
    bridge = cloud_bridge(make_bridge, cloud_settings, voice_backend.url, max_audio_bytes=8192)
    cases = {"+51911111111": (graph.add_received_media(NOTE, "audio/ogg"), AUDIO_REPLIES["too_large"]),
             "+51922222222": (graph.add_received_media(NOTE[:1000], "image/jpeg"), AUDIO_UNREADABLE_REPLY),
             "+51933333333": ("1999999999999999", AUDIO_UNREADABLE_REPLY)}  # unknown to Graph
    post_webhook(bridge, meta.batch(*(meta.audio(phone, media_id=media_id) for phone, (media_id, _) in cases.items())))
    graph.wait_for(3, kind="message", timeout=10)
    for phone, (_, reply) in cases.items():
        assert graph.texts_to(phone) == [reply]
    assert voice_backend.calls == [] and sum(graph.downloads_of(m) for m, _ in cases.values()) == 0
    wait_for_counts(bridge, {"answered": 3, "refused": 3})
    assert all(row["refusal"].startswith("audio ") for row in rows(bridge))


def test_graph_errors_while_fetching_are_retried_until_the_note_is_had(make_bridge, voice_backend, graph,
                                                                       cloud_settings):
    bridge = cloud_bridge(make_bridge, cloud_settings, voice_backend.url)
    media_id = graph.add_received_media(NOTE)
    graph.fail_next(500, count=2, on="media")
    graph.fail_next(503, on="download")
    post_webhook(bridge, meta.audio(PHONE, media_id=media_id))
    graph.wait_for(2, kind="message", timeout=20)
    assert graph.texts_to(PHONE) == [BACKEND_DOWN_REPLY, heard_reply(voice_backend.transcript)]
    assert graph.downloads_of(media_id) == 1 and len(voice_backend.calls) == 1


def test_a_note_graph_never_hands_over_is_at_last_answered_kindly(make_bridge, voice_backend, graph, cloud_settings,
                                                                  monkeypatch):
    monkeypatch.setattr(relay, "MEDIA_FAILURES_BEFORE_REFUSING", 3)
    bridge = cloud_bridge(make_bridge, cloud_settings, voice_backend.url, retry_every_s=0.05)
    graph.fail_next(500, count=100, on="media")
    post_webhook(bridge, meta.audio(PHONE, media_id=graph.add_received_media(NOTE)))
    graph.wait_for(2, kind="message", timeout=20)
    assert graph.texts_to(PHONE) == [BACKEND_DOWN_REPLY, AUDIO_UNREADABLE_REPLY]
    wait_for_counts(bridge, {"answered": 1, "refused": 1})
    assert voice_backend.calls == []


# -- the inbox ----------------------------------------------------------------------------------------
def test_an_inbox_from_before_voice_notes_is_upgraded_in_place(tmp_path):
    path = tmp_path / "bridge.db"
    with sqlite3.connect(path) as old:  # the table as the bridge wrote it before voice notes
        old.execute("CREATE TABLE inbox (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, phone TEXT NOT NULL, "
                    "kind TEXT NOT NULL, text TEXT NOT NULL, received_at REAL NOT NULL, status TEXT NOT NULL DEFAULT "
                    "'queued', attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, reply_pieces TEXT, "
                    "pieces_sent INTEGER NOT NULL DEFAULT 0, holding_sent INTEGER NOT NULL DEFAULT 0, last_error TEXT, "
                    "answered_at REAL, refusal TEXT, server_errors INTEGER NOT NULL DEFAULT 0, options TEXT, name TEXT)")
        old.execute("INSERT INTO inbox (message_id, phone, kind, text, received_at, next_attempt_at) "
                    "VALUES ('wamid.old', ?, 'audio', '', 1, 1)", (PHONE,))
    inbox = Inbox(path)
    entry = inbox.get(1)
    assert (entry.kind, entry.media, entry.heard, inbox.audio(1)) == (AUDIO, {}, None, None)
    inbox.keep_audio(1, AudioFile(NOTE, "audio/ogg"))
    assert inbox.audio(1) == AudioFile(NOTE, "audio/ogg") and inbox.media_failed(1) == 1
    new = inbox.add(Inbound(PHONE, "sim.in.1", AUDIO, details={"audio": NOTE, "mime_type": "audio/webm", "seconds": 3}))
    assert inbox.audio(new) == AudioFile(NOTE, "audio/webm")  # kept with the row, in the same statement
    assert inbox.get(new).media == {"mime_type": "audio/webm", "seconds": 3}
