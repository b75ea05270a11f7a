"""The WhatsApp Web transport without a WhatsApp account: its conversions, its session directory,
its sends through a stand-in client, and its real neonize client started against a dead loopback
proxy (so nothing leaves the machine). Pairing itself needs a phone and is not tested here.

Tests marked `needs_neonize` build events from neonize's own protobuf classes and are skipped when
the optional extra (chasqui[web]) is not installed."""
from __future__ import annotations

import base64
import json
import socket
import stat
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from flask import Flask

from whatsapp_bridge.media import MediaUnavailable
from whatsapp_bridge.messages import (AUDIO, BUTTON_REPLY, IMAGE, LOCATION, REACTION, TEXT, UNSUPPORTED, Button,
                                      Outbound, SendFailed, Template)
from whatsapp_bridge.transports.web import WebTransport, WebTransportUnavailable, convert, session
from whatsapp_bridge.transports.web import transport as web_transport

PHONE = "+51987654321"
YES_NO = (Button("si", "Sí"), Button("no", "No"))


def neonize_protos():
    pytest.importorskip("neonize")
    from neonize.proto import Neonize_pb2 as events
    from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as e2e
    return events, e2e


# -- the optional extra ---------------------------------------------------------------------------------
def test_start_without_neonize_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "neonize", None)  # what `import neonize` meets when it is not installed
    transport = WebTransport(tmp_path / "session")
    with pytest.raises(WebTransportUnavailable) as raised:
        transport.start(lambda message: None, lambda *status: None)
    assert ".venv/bin/pip install -e '.[web]'" in str(raised.value)
    assert not (tmp_path / "session").exists()  # nothing written before the check
    assert transport.health() == {"ok": False, "transport": "web", "paired": False, "connected": False,
                                  "awaiting_qr_scan": False, "session_dir": str(tmp_path / "session")}


def test_importing_the_transport_does_not_import_neonize():
    import subprocess
    code = "import sys, whatsapp_bridge.transports.web; print('neonize' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# -- phones and JIDs ------------------------------------------------------------------------------------
def test_phones_and_jids_convert_both_ways():
    assert convert.phone_to_jid(PHONE) == "51987654321@s.whatsapp.net"
    assert convert.jid_to_phone("51987654321@s.whatsapp.net") == PHONE
    assert convert.jid_to_phone("51987654321:12@s.whatsapp.net") == PHONE  # a device of the user
    assert convert.jid_to_phone("51987654321@c.us") == PHONE  # whatsapp-web.js's form, as the seed stored it
    assert convert.jid_to_phone(SimpleNamespace(User="51987654321", Server="s.whatsapp.net")) == PHONE
    for not_a_person in ("120363025246125486@g.us", "status@broadcast", "123456789012345@lid",
                         "120363140000000000@newsletter", "abc@s.whatsapp.net", "@s.whatsapp.net"):
        assert convert.jid_to_phone(not_a_person) is None, not_a_person


@pytest.mark.parametrize("phone", ["51987654321", "+5198", "+51 987 654 321", "+0987654321", "", None])
def test_a_phone_that_is_not_e164_is_refused(phone):
    with pytest.raises(ValueError):
        convert.phone_to_jid(phone)


# -- outbound text --------------------------------------------------------------------------------------
def test_buttons_become_a_numbered_list_under_the_body():
    assert convert.render_buttons("¿Regaste hoy?", YES_NO) == "¿Regaste hoy?\n\n1. Sí\n2. No"
    assert convert.render_buttons("", YES_NO) == "1. Sí\n2. No"
    assert convert.render_buttons("Hola", ()) == "Hola"


def test_a_template_is_sent_as_its_parameters():
    alert = Outbound(PHONE, "ignored", template=Template("alerta", "es", ("Helada esta noche", "Cubre tus plantas")))
    assert convert.outbound_text(alert) == "Helada esta noche\nCubre tus plantas"
    assert convert.outbound_text(Outbound(PHONE, "texto", template=Template("vacia", "es"))) == "texto"
    assert convert.outbound_text(Outbound(PHONE, "¿Regaste?", buttons=YES_NO)) == "¿Regaste?\n\n1. Sí\n2. No"


def test_a_typed_number_or_title_picks_a_button():
    assert convert.match_button("2", YES_NO) == YES_NO[1]
    assert convert.match_button(" 1. ", YES_NO) == YES_NO[0]
    assert convert.match_button("sí", YES_NO) == YES_NO[0]
    assert convert.match_button("3", YES_NO) is None
    assert convert.match_button("sí, ayer", YES_NO) is None


# -- the session directory ------------------------------------------------------------------------------
def test_session_dir_is_created_private(tmp_path, monkeypatch):
    import os
    old_umask = os.umask(0o022)
    try:
        created = session.prepare_session_dir(tmp_path / "cache" / "whatsapp-web")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    session.prepare_session_dir(wide)  # an existing directory is tightened too
    assert stat.S_IMODE(wide.stat().st_mode) == 0o700


def test_one_process_per_session(tmp_path):
    first = session.acquire_session_lock(tmp_path)
    with pytest.raises(RuntimeError, match="in use by another process"):
        session.acquire_session_lock(tmp_path)
    first.close()
    session.acquire_session_lock(tmp_path).close()


def test_paired_means_whatsmeow_stored_a_device(tmp_path):
    import sqlite3
    db_path = tmp_path / "session.db"
    assert not session.session_is_paired(db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE whatsmeow_device (jid TEXT PRIMARY KEY)")
    assert not session.session_is_paired(db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO whatsmeow_device VALUES ('51987654321.0:7@s.whatsapp.net')")
    assert session.session_is_paired(db_path)
    assert WebTransport(tmp_path).health()["paired"]


# -- image_url --------------------------------------------------------------------------------------------
class _Images(BaseHTTPRequestHandler):
    def do_GET(self):
        status = int(self.path.strip("/").split(".")[0])
        body = b"\x89PNG-not-really" * (1 if status == 200 else 0) + b"x" * (2048 if "big" in self.path else 0)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def image_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_image_url_failures_say_whether_to_retry(image_server):
    assert web_transport.fetch_image(f"{image_server}/200.png").startswith(b"\x89PNG")
    for path, retryable in (("404.png", False), ("503.png", True), ("429.png", True)):
        with pytest.raises(SendFailed) as raised:
            web_transport.fetch_image(f"{image_server}/{path}")
        assert raised.value.retryable is retryable, path
    with pytest.raises(SendFailed) as too_big:
        web_transport.fetch_image(f"{image_server}/200.big.png", max_bytes=1024)
    assert not too_big.value.retryable
    with pytest.raises(SendFailed) as local_file:
        web_transport.fetch_image("file:///etc/passwd")
    assert not local_file.value.retryable
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    with pytest.raises(SendFailed) as refused:
        web_transport.fetch_image(f"http://127.0.0.1:{closed_port}/x.png", timeout_s=2)
    assert refused.value.retryable


# -- neonize events -> Inbound ----------------------------------------------------------------------------
def jid(events, user: str, server: str = "s.whatsapp.net", device: int = 0):
    return events.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


def message_event(message, *, chat=None, sender=None, sender_alt=None, from_me=False, group=False,
                  message_id="3EB0C0FFEE", timestamp=1_763_000_000_123, is_edit=False):
    events, _ = neonize_protos()
    chat = chat or jid(events, "51987654321")
    source = events.MessageSource(Chat=chat, Sender=sender or jid(events, chat.User, chat.Server, device=3),
                                  IsFromMe=from_me, IsGroup=group)
    if sender_alt is not None:
        source.SenderAlt.CopyFrom(sender_alt)
    info = events.MessageInfo(MessageSource=source, ID=message_id, Pushname="Rosa", Timestamp=timestamp, Type="text")
    return events.Message(Info=info, Message=message, IsEdit=is_edit)


def test_a_text_message_becomes_an_inbound():
    _, e2e = neonize_protos()
    inbound = convert.inbound_from_event(message_event(e2e.Message(conversation=" ¿Cuándo riego? ")))
    assert (inbound.phone, inbound.message_id, inbound.kind, inbound.text) == (PHONE, "3EB0C0FFEE", TEXT,
                                                                               "¿Cuándo riego?")
    assert inbound.name == "Rosa" and inbound.timestamp == pytest.approx(1_763_000_000.123)
    extended = e2e.Message(extendedTextMessage=e2e.ExtendedTextMessage(text="mira https://example.org"),
                           messageContextInfo=e2e.MessageContextInfo())
    assert convert.inbound_from_event(message_event(extended)).text == "mira https://example.org"
    wrapped = e2e.Message(ephemeralMessage=e2e.FutureProofMessage(message=e2e.Message(conversation="efímero")))
    assert convert.inbound_from_event(message_event(wrapped)).text == "efímero"


def test_media_and_places_map_to_their_kinds():
    _, e2e = neonize_protos()
    image = convert.inbound_from_event(message_event(e2e.Message(
        imageMessage=e2e.ImageMessage(caption="mi maíz", mimetype="image/jpeg"))))
    assert (image.kind, image.text, image.details) == (IMAGE, "mi maíz", {"mime_type": "image/jpeg"})
    voice = convert.inbound_from_event(message_event(e2e.Message(audioMessage=voice_note(e2e))))
    assert (voice.kind, voice.text) == (AUDIO, "")
    download = voice.details.pop("download")
    assert voice.details == {"mime_type": "audio/ogg; codecs=opus", "seconds": 7, "voice_note": True}
    keys = e2e.AudioMessage.FromString(base64.b64decode(download))  # what whatsmeow needs to fetch it, no more
    assert (keys.directPath, keys.mediaKey, keys.fileLength) == ("/v/t62.7117-24/voice", b"k" * 32, 30_000)
    assert not keys.waveform and not keys.seconds
    place = convert.inbound_from_event(message_event(e2e.Message(locationMessage=e2e.LocationMessage(
        degreesLatitude=-7.16, degreesLongitude=-78.51, name="Chacra", address="Cajamarca"))))
    assert place.kind == LOCATION and place.text == "Mi ubicación: -7.16, -78.51 (Chacra, Cajamarca)"
    assert place.details == {"latitude": -7.16, "longitude": -78.51, "name": "Chacra", "address": "Cajamarca"}
    live = convert.inbound_from_event(message_event(e2e.Message(liveLocationMessage=e2e.LiveLocationMessage(
        degreesLatitude=1.5, degreesLongitude=2.5))))
    assert live.kind == LOCATION and live.details == {"latitude": 1.5, "longitude": 2.5, "live": True}
    video = convert.inbound_from_event(message_event(e2e.Message(videoMessage=e2e.VideoMessage(caption="mira"))))
    assert (video.kind, video.text, video.details) == (UNSUPPORTED, "mira", {"type": "videoMessage"})
    sticker = convert.inbound_from_event(message_event(e2e.Message(stickerMessage=e2e.StickerMessage())))
    assert (sticker.kind, sticker.text, sticker.details) == (UNSUPPORTED, "", {"type": "stickerMessage"})
    tap = convert.inbound_from_event(message_event(e2e.Message(buttonsResponseMessage=e2e.ButtonsResponseMessage(
        selectedButtonID="si", selectedDisplayText="Sí"))))
    assert (tap.kind, tap.text, tap.details) == (BUTTON_REPLY, "Sí", {"button_id": "si"})


def voice_note(e2e, **fields):
    """A voice note's AudioMessage as WhatsApp sends it: the media's keys, and what a player shows."""
    return e2e.AudioMessage(**{"mimetype": "audio/ogg; codecs=opus", "seconds": 7, "PTT": True,
                               "directPath": "/v/t62.7117-24/voice", "mediaKey": b"k" * 32, "fileLength": 30_000,
                               "fileSHA256": b"s" * 32, "fileEncSHA256": b"e" * 32, "mediaKeyTimestamp": 1_763_000_000,
                               "waveform": b"\x01" * 64, **fields})


def test_what_the_bridge_must_not_answer_is_ignored():
    events, e2e = neonize_protos()
    hello = e2e.Message(conversation="hola")
    ignored = {
        "own message": message_event(hello, from_me=True),
        "group": message_event(hello, chat=jid(events, "120363025246125486", "g.us"), group=True,
                               sender=jid(events, "51987654321")),
        "status broadcast": message_event(hello, chat=jid(events, "status", "broadcast"),
                                          sender=jid(events, "51987654321")),
        "channel": message_event(hello, chat=jid(events, "120363140000000000", "newsletter")),
        "edit": message_event(hello, is_edit=True),
        "reaction naming no message": message_event(e2e.Message(reactionMessage=e2e.ReactionMessage(text="👍"))),
        "deletion": message_event(e2e.Message(protocolMessage=e2e.ProtocolMessage(type=e2e.ProtocolMessage.REVOKE))),
        "keys only": message_event(e2e.Message(messageContextInfo=e2e.MessageContextInfo())),
    }
    for what, event in ignored.items():
        assert convert.inbound_from_event(event) is None, what


def test_a_reaction_reads_as_a_reaction_to_the_message_its_key_names():
    _, e2e = neonize_protos()
    from neonize.proto.waCommon import WACommon_pb2 as common
    key = common.MessageKey(ID="3EB0OURREPLY", fromMe=False, remoteJID="51987654321@s.whatsapp.net")
    liked = convert.inbound_from_event(message_event(e2e.Message(reactionMessage=e2e.ReactionMessage(
        key=key, text="👍", senderTimestampMS=1_763_000_000_000))))
    assert (liked.kind, liked.text, liked.details) == (REACTION, "", {"reacted_to": "3EB0OURREPLY", "emoji": "👍"})
    removed = convert.inbound_from_event(message_event(e2e.Message(reactionMessage=e2e.ReactionMessage(key=key))))
    assert removed.details == {"reacted_to": "3EB0OURREPLY", "emoji": ""}


def test_a_hidden_id_sender_is_found_by_phone():
    events, e2e = neonize_protos()
    hidden = jid(events, "123456789012345", "lid")
    hello = e2e.Message(conversation="hola")
    with_alt = message_event(hello, chat=hidden, sender=hidden, sender_alt=jid(events, "51987654321"))
    assert convert.inbound_from_event(with_alt).phone == PHONE
    without_alt = message_event(hello, chat=hidden, sender=hidden)
    assert convert.inbound_from_event(without_alt) is None
    looked_up = convert.inbound_from_event(without_alt, resolve_lid=lambda lid: jid(events, "51987654321"))
    assert looked_up.phone == PHONE


def test_receipts_become_delivery_statuses():
    events, _ = neonize_protos()
    source = events.MessageSource(Chat=jid(events, "51987654321"), Sender=jid(events, "51987654321"))
    receipt = events.Receipt(MessageSource=source, MessageIDs=["A1", "A2"], Type=events.Receipt.DELIVERED)
    assert convert.statuses_from_receipt(receipt) == [("A1", "delivered"), ("A2", "delivered")]
    receipt.Type = events.Receipt.READ
    assert convert.statuses_from_receipt(receipt) == [("A1", "read"), ("A2", "read")]
    receipt.Type = events.Receipt.RETRY
    assert convert.statuses_from_receipt(receipt) == []
    mine = events.Receipt(MessageSource=events.MessageSource(IsFromMe=True), MessageIDs=["A1"],
                          Type=events.Receipt.READ_SELF)
    assert convert.statuses_from_receipt(mine) == []


# -- the transport with a stand-in client ---------------------------------------------------------------
class StandInClient:
    """The NewClient methods the transport calls, recorded; `fail` makes one of them raise."""

    def __init__(self, on_whatsapp: bool = True):
        self.calls, self.on_whatsapp, self.fail = [], on_whatsapp, {}

    def _record(self, name, *args, **kwargs):
        self.calls.append((name, args, kwargs))
        if name in self.fail:
            raise self.fail[name]

    def is_on_whatsapp(self, *numbers):
        self._record("is_on_whatsapp", *numbers)
        events, _ = neonize_protos()
        return [events.IsOnWhatsAppResponse(Query=numbers[0], IsIn=self.on_whatsapp,
                                            JID=jid(events, numbers[0].lstrip("+")))]

    def send_message(self, to, message):
        self._record("send_message", to, message)
        return SimpleNamespace(ID=f"3EB0SENT{len(self.calls)}")

    def build_image_message(self, payload, caption=None):
        self._record("build_image_message", payload, caption=caption)
        _, e2e = neonize_protos()
        return e2e.Message(imageMessage=e2e.ImageMessage(caption=caption))

    def build_document_message(self, payload, caption=None, filename=None, mimetype=None):
        self._record("build_document_message", payload, caption=caption, filename=filename, mimetype=mimetype)
        _, e2e = neonize_protos()
        return e2e.Message(documentMessage=e2e.DocumentMessage(caption=caption, fileName=filename, mimetype=mimetype))

    def send_chat_presence(self, jid, state, media):
        self._record("send_chat_presence", jid, state, media)

    def mark_read(self, *ids, chat, sender, receipt):
        self._record("mark_read", *ids, chat=chat, sender=sender, receipt=receipt)

    def send_presence(self, presence):
        self._record("send_presence", presence)

    def download_any(self, message):
        self._record("download_any", message)
        return self.audio

    audio = b"OggS" + b"\x00" * 2000  # what download_any answers


@pytest.fixture
def connected(tmp_path):
    """A transport whose current client is the stand-in, as after neonize's Connected event."""
    neonize_protos()
    received, statuses = [], []
    transport = WebTransport(tmp_path / "session")
    session.prepare_session_dir(transport.session_dir)
    transport._nz = session.load_neonize()
    transport._on_message, transport._on_status = received.append, lambda *status: statuses.append(status)
    client = StandInClient()
    transport._client = client
    transport._handle_connected(client, transport._nz.ConnectedEv(status=True))
    return SimpleNamespace(transport=transport, client=client, received=received, statuses=statuses)


def sent(client):
    return [call for call in client.calls if call[0] == "send_message"]


def test_send_returns_the_whatsapp_message_id(connected):
    transport, client = connected.transport, connected.client
    assert transport.health()["ok"] and transport.health()["connected"]
    assert client.calls[0][0] == "send_presence"  # so people see our name, not "-"
    message_id = transport.send(Outbound(PHONE, "¿Regaste hoy?", buttons=YES_NO))
    assert message_id.startswith("3EB0SENT")
    (_, (to, content), _), = sent(client)
    assert (to.User, to.Server) == ("51987654321", "s.whatsapp.net")
    assert content.conversation == "¿Regaste hoy?\n\n1. Sí\n2. No"
    transport.send(Outbound(PHONE, "otra"))
    assert [call[0] for call in client.calls].count("is_on_whatsapp") == 1  # the number's JID is remembered


def test_a_document_is_uploaded_by_neonize_and_sent_with_its_name_type_and_caption(connected):
    transport, client = connected.transport, connected.client
    message_id = transport.send(Outbound(PHONE, "Aquí están tus datos.", purpose="document", document=b'{"a": 1}',
                                         document_name="mis_datos.json", document_type="application/json"))
    assert message_id.startswith("3EB0SENT")
    (_, (payload,), options), = [call for call in client.calls if call[0] == "build_document_message"]
    assert payload == b'{"a": 1}' and options == {"caption": "Aquí están tus datos.", "filename": "mis_datos.json",
                                                  "mimetype": "application/json"}
    assert sent(client)[0][1][1].documentMessage.fileName == "mis_datos.json"
    client.fail["build_document_message"] = transport._nz.NeonizeError("upload failed: 503")
    with pytest.raises(SendFailed, match="document upload failed") as raised:
        transport.send(Outbound(PHONE, "", document=b"x", document_name="x.txt", document_type="text/plain"))
    assert raised.value.retryable


def test_silence_takes_typing_away(connected):
    transport, client = connected.transport, connected.client
    transport.stop_typing(PHONE)
    (_, (jid, state, _), _), = [call for call in client.calls if call[0] == "send_chat_presence"]
    assert jid.User == "51987654321" and state == transport._nz.ChatPresence.CHAT_PRESENCE_PAUSED


def test_sends_that_can_never_work_are_not_retried(connected):
    transport, client = connected.transport, connected.client
    for bad in (Outbound("51987654321", "hola"), Outbound(PHONE, "")):
        with pytest.raises(SendFailed) as raised:
            transport.send(bad)
        assert not raised.value.retryable
    client.on_whatsapp = False
    with pytest.raises(SendFailed, match="not on WhatsApp") as raised:
        transport.send(Outbound("+51911111111", "hola"))
    assert not raised.value.retryable
    assert not sent(client)


def test_sends_that_may_work_later_are_retryable(connected):
    transport, client = connected.transport, connected.client
    client.fail["send_message"] = transport._nz.NeonizeError("websocket not connected")
    with pytest.raises(SendFailed) as raised:
        transport.send(Outbound(PHONE, "hola"))
    assert raised.value.retry_after == 5.0
    transport._handle_disconnected(client, transport._nz.DisconnectedEv(status=True))
    with pytest.raises(SendFailed, match="not connected") as raised:
        transport.send(Outbound(PHONE, "hola"))
    assert raised.value.retry_after == 5.0
    assert not transport.health()["ok"]


def test_an_image_is_downloaded_and_sent_with_its_caption(connected, image_server):
    transport, client = connected.transport, connected.client
    transport.send(Outbound(PHONE, "Tu progreso", image_url=f"{image_server}/200.png"))
    (_, (payload,), options), = [call for call in client.calls if call[0] == "build_image_message"]
    assert payload.startswith(b"\x89PNG") and options == {"caption": "Tu progreso"}
    assert sent(client)[0][1][1].imageMessage.caption == "Tu progreso"
    client.fail["build_image_message"] = OSError("cannot identify image file")  # what PIL raises
    with pytest.raises(SendFailed, match="not an image") as raised:
        transport.send(Outbound(PHONE, "", image_url=f"{image_server}/200.png"))
    assert not raised.value.retryable


def test_typing_marks_the_message_read_and_never_raises(connected):
    transport, client = connected.transport, connected.client
    transport._handle_message(client, message_event(neonize_protos()[1].Message(conversation="hola")))
    transport.show_typing(PHONE, "3EB0C0FFEE")
    (_, ids, read), = [call for call in client.calls if call[0] == "mark_read"]
    assert ids == ("3EB0C0FFEE",) and read["chat"].User == "51987654321" and read["sender"].Device == 3
    (_, (chat, state, media), _), = [call for call in client.calls if call[0] == "send_chat_presence"]
    assert chat.User == "51987654321" and state.name == "CHAT_PRESENCE_COMPOSING"
    client.fail["send_chat_presence"] = RuntimeError("boom")
    transport.show_typing(PHONE, None)
    transport.show_typing("not a phone", None)
    transport._handle_disconnected(client, None)
    transport.show_typing(PHONE, "3EB0C0FFEE")


def test_messages_and_receipts_reach_the_bridge(connected):
    transport, client = connected.transport, connected.client
    events, e2e = neonize_protos()
    transport._handle_message(client, message_event(e2e.Message(conversation="hola")))
    transport._handle_message(client, message_event(e2e.Message(conversation="mío"), from_me=True))
    transport._handle_message(object(), message_event(e2e.Message(conversation="de un cliente viejo")))
    assert [inbound.text for inbound in connected.received] == ["hola"]
    source = events.MessageSource(Chat=jid(events, "51987654321"), Sender=jid(events, "51987654321"))
    transport._handle_receipt(client, events.Receipt(MessageSource=source, MessageIDs=["3EB0SENT1"],
                                                     Type=events.Receipt.READ))
    assert connected.statuses == [("3EB0SENT1", "read", None)]


def test_a_typed_number_after_a_list_reads_as_that_button(connected):
    transport, client = connected.transport, connected.client
    _, e2e = neonize_protos()
    transport.send(Outbound(PHONE, "¿Regaste hoy?", buttons=YES_NO))
    transport._handle_message(client, message_event(e2e.Message(conversation="2"), message_id="A"))
    reply = connected.received[-1]
    assert (reply.kind, reply.text, reply.details) == (BUTTON_REPLY, "No", {"button_id": "no", "typed": "2"})
    transport.send(Outbound(PHONE, "¿Cuántas hectáreas?"))  # a later question without buttons
    transport._handle_message(client, message_event(e2e.Message(conversation="2"), message_id="B"))
    assert (connected.received[-1].kind, connected.received[-1].text) == (TEXT, "2")


def test_a_voice_note_is_downloaded_from_the_keys_its_message_carried(connected):
    transport, client = connected.transport, connected.client
    _, e2e = neonize_protos()
    transport._handle_message(client, message_event(e2e.Message(audioMessage=voice_note(e2e)), message_id="V1"))
    (inbound,) = connected.received
    assert inbound.kind == AUDIO and "audio" not in inbound.details  # handed on at once, fetched by the relay
    audio = transport.fetch_audio(inbound.message_id, json.loads(json.dumps(inbound.details)))  # via the inbox
    assert (audio.data, audio.mime_type) == (client.audio, "audio/ogg; codecs=opus")
    (_, (message,), _), = [call for call in client.calls if call[0] == "download_any"]
    assert message.audioMessage.directPath == "/v/t62.7117-24/voice" and message.audioMessage.mediaKey == b"k" * 32


def test_voice_notes_that_cannot_be_downloaded_say_whether_to_try_again(connected):
    transport, client = connected.transport, connected.client
    _, e2e = neonize_protos()

    def details(**fields):
        return convert.inbound_from_event(message_event(e2e.Message(audioMessage=voice_note(e2e, **fields)))).details

    def problem(media: dict) -> MediaUnavailable:
        with pytest.raises(MediaUnavailable) as raised:
            transport.fetch_audio("V2", media)
        return raised.value

    gone = transport._nz.NeonizeError("download failed with status code 404")  # the media left WhatsApp's servers
    for fail, retryable in ((gone, False), (transport._nz.NeonizeError("context deadline exceeded"), True),
                            (RuntimeError("boom"), True)):
        client.fail["download_any"] = fail
        assert problem(details()).retryable is retryable, fail
    del client.fail["download_any"]
    downloads = len(client.calls)
    assert problem(details(fileLength=17 * 1024 * 1024)).code == "too_large"  # refused before downloading
    assert problem(details(mimetype="image/jpeg")).code == "not_audio"
    assert not problem({"download": "not base64!", "mime_type": "audio/ogg"}).retryable
    assert not problem({"mime_type": "audio/ogg"}).retryable
    assert len(client.calls) == downloads
    client.audio = b""
    assert problem(details()).code == "not_audio"  # nothing came
    transport._handle_disconnected(client, None)
    assert problem(details()).retryable  # back once WhatsApp Web reconnects


def test_logged_out_means_unpaired_and_a_new_session(connected):
    transport, client = connected.transport, connected.client
    events, _ = neonize_protos()
    transport._handle_logged_out(client, events.LoggedOut(OnConnect=False, Reason=events.LOGGED_OUT))
    assert transport._restart.is_set()
    assert transport.health() | {"session_dir": ""} == {"ok": False, "transport": "web", "paired": False,
                                                         "connected": False, "awaiting_qr_scan": False,
                                                         "session_dir": ""}


# -- pairing by QR code -----------------------------------------------------------------------------------
def test_the_qr_code_is_printed_written_and_served_to_loopback_only(tmp_path, capsys):
    neonize_protos()
    transport = WebTransport(tmp_path / "session")
    session.prepare_session_dir(transport.session_dir)
    transport._nz = session.load_neonize()
    client = transport._client = StandInClient()
    code = "2@Vx3Lq9ZxYh1uKQ==,ZmFrZS1ub2lzZS1rZXk=,aWRlbnRpdHkta2V5,YWR2LXNlY3JldA=="
    transport._handle_qr(client, code.encode())

    drawn = capsys.readouterr().out
    assert drawn.count("\n") > 20 and ("█" in drawn or "▀" in drawn)  # drawn on the terminal
    png, txt = transport.session_dir / "qr.png", transport.session_dir / "qr.txt"
    assert png.read_bytes().startswith(b"\x89PNG") and txt.read_text().strip() == code
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert transport.health()["awaiting_qr_scan"]

    app = Flask(__name__)
    app.register_blueprint(transport.blueprint())
    http = app.test_client()
    image = http.get("/web/qr", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert image.headers["Cache-Control"] == "no-store"
    text = http.get("/web/qr?format=text", environ_base={"REMOTE_ADDR": "::1"})
    assert text.get_data(as_text=True).strip() == code
    assert http.get("/web/qr", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 403

    transport._handle_connected(client, transport._nz.ConnectedEv(status=True))  # scanned: paired
    assert not png.exists() and not txt.exists()
    assert http.get("/web/qr", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    assert transport.health()["paired"]


# -- the real neonize client, kept on loopback -------------------------------------------------------------
def test_the_real_client_starts_retries_and_stops(tmp_path, monkeypatch):
    """neonize's client dials WhatsApp through a proxy on a closed loopback port: the connection
    fails at once, the supervisor tries again, and stop() ends it all without hanging."""
    pytest.importorskip("neonize")
    monkeypatch.setattr(web_transport, "FIRST_PAUSE_S", 0.2)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_proxy = f"socks5://127.0.0.1:{unused.getsockname()[1]}"
    transport = WebTransport(tmp_path / "session", proxy_url=dead_proxy)
    transport.start(lambda message: None, lambda *status: None)
    try:
        assert stat.S_IMODE(transport.session_dir.stat().st_mode) == 0o700
        with pytest.raises(RuntimeError, match="in use by another process"):
            WebTransport(tmp_path / "session").start(lambda message: None, lambda *status: None)
        deadline = time.monotonic() + 20
        while transport._generation < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert transport._generation >= 2  # failed, then tried again
        assert (transport.session_dir / session.DB_NAME).is_file()  # whatsmeow's store, in the session dir
        assert transport.health()["ok"] is False
        with pytest.raises(SendFailed) as raised:
            transport.send(Outbound(PHONE, "hola"))
        assert raised.value.retryable
    finally:
        started = time.monotonic()
        transport.stop()
    assert time.monotonic() - started < 15
    assert not any(thread.name.startswith("whatsapp-web") for thread in threading.enumerate())
    session.acquire_session_lock(transport.session_dir).close()  # stop() released the session
