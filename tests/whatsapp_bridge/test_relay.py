"""Relaying through the simulator transport, with real HTTP to a real backend: answered in order,
kept when the backend is down, a holding note when it is slow, long replies split, repeats
ignored, nothing lost or sent twice across a failed send or a restart."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.servers import free_port, start_backend
from tests.whatsapp_bridge.conftest import TOKEN, onboard, say, wait_for_counts, wait_for_replies
from whatsapp_bridge.inbox import Inbox
from whatsapp_bridge.messages import TEXT, UNSUPPORTED, UNSUPPORTED_REPLY, Inbound, SendFailed
from whatsapp_bridge.relay import (BACKEND_DOWN_REPLY, HOLDING_REPLY, REFUSED_REPLIES, REFUSED_REPLY,
                                   SERVER_ERRORS_BEFORE_REFUSING)
from whatsapp_bridge.transports.simulator import SimulatorTransport

PHONE = "+51987654321"


def test_messages_typed_in_the_simulator_are_answered_by_the_backend(make_bridge, backend, model):
    bridge = make_bridge(backend_url=backend.url)
    onboard(bridge, PHONE)
    replies = wait_for_replies(bridge.transport, PHONE, 3)
    assert "¿Cómo te llamas?" in replies[0] and "Listo, Rosa" in replies[2]
    model.answer("Riega el jueves.")
    say(bridge, PHONE, "¿Cuándo riego?")
    assert wait_for_replies(bridge.transport, PHONE, 4)[3] == "Riega el jueves."
    assert bridge.bridge.inbox.counts() == {"answered": 4}


def test_a_message_sent_while_the_backend_is_down_is_kept_and_answered_when_it_returns(
        make_bridge, model, tmp_path):
    port = free_port()  # where the backend will be; nothing listens there yet
    bridge = make_bridge(backend_url=f"http://127.0.0.1:{port}")
    say(bridge, PHONE, "Hola")
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="holding") == [BACKEND_DOWN_REPLY]
    wait_for_counts(bridge, {"queued": 1})  # the note goes out just before the row is put back in the queue
    time.sleep(1)  # several retries while it is down: still one note, no reply
    assert len(wait_for_replies(bridge.transport, PHONE, 1, kind="holding")) == 1
    revived = start_backend(tmp_path, model.url, port=port, BACKEND_TOKEN=TOKEN)
    try:
        assert "¿Cómo te llamas?" in wait_for_replies(bridge.transport, PHONE, 1, timeout_s=20)[0]
        assert bridge.bridge.inbox.counts() == {"answered": 1}
    finally:
        revived.stop()


def test_a_slow_backend_shows_typing_then_one_holding_note(make_bridge, backend, model):
    bridge = make_bridge(backend_url=backend.url, holding_after_s=0.3)
    onboard(bridge, PHONE)
    model.delay_s = 1.5
    say(bridge, PHONE, "¿Cuándo riego?")
    time.sleep(0.15)
    assert requests.get(f"{bridge.url}/simulator/api/messages", params={"phone": PHONE, "after": 10**6},
                        timeout=5).json()["typing"] is True
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="holding") == [HOLDING_REPLY]
    assert wait_for_replies(bridge.transport, PHONE, 4)[3] == "Respuesta del modelo."
    kinds = [m["kind"] for m in bridge.transport.conversation(PHONE) if m["from"] == "chasqui"][-2:]
    assert kinds == ["holding", "reply"]


def test_a_long_reply_arrives_in_message_sized_pieces_at_sentence_ends(make_bridge, backend, model):
    # The backend caps a chat reply at 400 characters, so the test lowers the per-message limit
    # (WhatsApp's is 4,096) to see the bridge split a reply the way it would split a longer one.
    bridge = make_bridge(backend_url=backend.url)
    bridge.bridge.relay.max_chars = 150
    onboard(bridge, PHONE)
    sentence = "El goteo ahorra agua y mantiene la humedad."
    long_text = " ".join([sentence] * 8)  # 351 characters: three messages
    model.script.append((200, {"content": json.dumps({"role": "consulta", "respuesta_chat": long_text,
                                                      "acciones": {}, "estado": {}})}, {}))
    say(bridge, PHONE, "Explícame el riego por goteo")
    pieces = wait_for_replies(bridge.transport, PHONE, 6)[3:]
    assert len(pieces) == 3 and all(len(p) <= 150 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == long_text


def test_a_repeated_message_id_is_answered_once(make_bridge, backend):
    bridge = make_bridge(backend_url=backend.url)
    message = Inbound(PHONE, "wamid.same", TEXT, "Hola")
    assert bridge.bridge.relay.receive(message) is True
    assert bridge.bridge.relay.receive(message) is False
    wait_for_replies(bridge.transport, PHONE, 1)
    time.sleep(0.5)
    assert len(wait_for_replies(bridge.transport, PHONE, 1)) == 1


def test_media_the_stack_cannot_read_gets_a_polite_answer_without_the_backend(make_bridge):
    bridge = make_bridge()  # no backend at all
    bridge.bridge.relay.receive(Inbound(PHONE, "wamid.audio", UNSUPPORTED, "", details={"type": "sticker"}))
    assert wait_for_replies(bridge.transport, PHONE, 1) == [UNSUPPORTED_REPLY]


class FlakyTransport(SimulatorTransport):
    """Refuses the second piece of a reply once, as a provider hiccup would."""

    def __init__(self):
        super().__init__()
        self.sends, self.refused = 0, False

    def send(self, message):
        self.sends += 1
        if message.purpose == "reply" and message.reply_to is None and not self.refused:
            self.refused = True
            raise SendFailed("HTTP 503 from the provider", retry_after=0.1)
        return super().send(message)


def test_a_send_refused_mid_reply_resumes_where_it_stopped(make_bridge, backend, model):
    bridge = make_bridge(FlakyTransport(), backend_url=backend.url)
    bridge.bridge.relay.max_chars = 150
    onboard(bridge, PHONE)
    long_text = " ".join(["Una frase completa para el agricultor."] * 7)
    model.script.append((200, {"content": json.dumps({"role": "consulta", "respuesta_chat": long_text,
                                                      "acciones": {}, "estado": {}})}, {}))
    say(bridge, PHONE, "Cuéntame todo")
    pieces = wait_for_replies(bridge.transport, PHONE, 5)[3:]
    assert bridge.transport.refused and " ".join(pieces) == long_text  # each piece once, in order
    assert len(model.requests) == 1  # the backend was asked once


def test_a_bridge_killed_while_the_backend_thought_asks_again_on_restart(tmp_path, make_bridge, backend):
    path = tmp_path / "bridge.db"
    inbox = Inbox(path)
    entry = inbox.add(Inbound(PHONE, "wamid.before-crash", TEXT, "Hola"))
    inbox.asking(entry)  # the process died here
    bridge = make_bridge(backend_url=backend.url)  # same state file
    assert "¿Cómo te llamas?" in wait_for_replies(bridge.transport, PHONE, 1, timeout_s=10)[0]


def test_the_simulator_refuses_bad_input_with_a_clear_error(make_bridge):
    bridge = make_bridge()
    api = f"{bridge.url}/simulator/api/messages"
    for body, param in [({"phone": "123", "text": "hola"}, "phone"), ({"phone": PHONE, "text": ""}, "text"),
                        ({"phone": PHONE, "text": "a" * 4097}, "text")]:
        response = requests.post(api, json=body, timeout=5)
        assert response.status_code == 400 and response.json()["error"]["param"] == param
    assert requests.post(api, data="{not json", headers={"Content-Type": "application/json"},
                         timeout=5).status_code == 400
    assert bridge.bridge.inbox.counts() == {}


def test_a_wrong_backend_token_keeps_the_message_instead_of_answering_it(make_bridge, backend, model):
    bridge = make_bridge(backend_url=backend.url, backend_token="not-the-token")
    say(bridge, PHONE, "Hola")
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="holding") == [BACKEND_DOWN_REPLY]
    time.sleep(0.5)
    assert bridge.bridge.inbox.counts() == {"queued": 1}  # kept for when the operator fixes the token


@contextmanager
def stand_in_backend(status: int | list[int], error: dict, options: list[str] | None = None):
    """A backend that is up (its /health answers) and answers every /agent with `status` (or with
    each of a list in turn, the last one from then on: 200 is a normal answer); yields (its URL,
    the paths it was asked). The real backend has no such bug left to show it."""
    tries = []
    statuses = status if isinstance(status, list) else [status]

    class Answering(BaseHTTPRequestHandler):
        def do_GET(self):  # /health
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_POST(self):  # /agent
            self.rfile.read(int(self.headers["Content-Length"]))
            tries.append(self.path)
            answer = statuses[min(len(tries), len(statuses)) - 1]
            normal = {"model_output": {"respuesta_chat": "Respuesta normal."}, **({"opciones": options} if options else {})}
            body = json.dumps(normal if answer == 200 else {"error": error}).encode()
            self.send_response(answer)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", tries
    finally:
        server.shutdown()


def test_a_message_the_backend_fails_on_every_time_is_answered_as_refused_not_retried_for_a_day(make_bridge):
    """A 500 for this one message while /health is fine: the message is the problem, not an outage."""
    with stand_in_backend(500, {"code": "internal_error", "message": "boom"}) as (url, tries):
        bridge = make_bridge(backend_url=url)
        say(bridge, PHONE, "un mensaje que rompe algo")
        replies = wait_for_replies(bridge.transport, PHONE, 1, timeout_s=20)
        assert replies == [REFUSED_REPLY] and len(tries) == SERVER_ERRORS_BEFORE_REFUSING
        assert bridge.bridge.inbox.counts() == {"answered": 1, "refused": 1}


def test_a_message_the_backend_refuses_is_answered_politely_once_and_marked_refused(make_bridge):
    with stand_in_backend(400, {"code": "message_too_long", "message": "'message' has 5000 characters"}) as (url, tries):
        bridge = make_bridge(backend_url=url)
        say(bridge, PHONE, "un mensaje larguísimo")
        assert wait_for_replies(bridge.transport, PHONE, 1) == [REFUSED_REPLIES["message_too_long"]]
        time.sleep(0.5)  # retry rounds (every 0.2 s) pass: it is not asked again
        assert len(tries) == 1 and bridge.bridge.inbox.counts() == {"answered": 1, "refused": 1}
        refusal = bridge.bridge.inbox.execute("SELECT refusal FROM inbox").fetchone()[0]
        assert "HTTP 400" in refusal and "message_too_long" in refusal


def test_one_500_after_an_outage_is_retried_not_answered_as_refused(make_bridge):
    """The outage's errors (503s here) are not the message's fault: only repeated 500s are."""
    with stand_in_backend([503, 503, 503, 503, 500, 200], {"code": "internal_error", "message": "boom"}) as (url, tries):
        bridge = make_bridge(backend_url=url, retry_every_s=0.05)
        say(bridge, PHONE, "que abono le echo al maiz")
        replies = wait_for_replies(bridge.transport, PHONE, 1, timeout_s=30)
        assert replies == ["Respuesta normal."] and len(tries) == 6
