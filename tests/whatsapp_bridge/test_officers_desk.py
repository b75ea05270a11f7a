"""The bridge's side of the officer's desk (docs/officers_desk.md) through the simulator, over
real HTTP, against DeskBackend (the backend's side, strict about the contract): reactions to
POST /agent/reaction with the message they rate, silence, «olvidar», and the outbound queue's
replies, notices and documents."""
from __future__ import annotations

import time

import pytest
import requests

from tests.servers import free_port
from tests.whatsapp_bridge.conftest import say, wait_for_counts, wait_for_replies
from tests.whatsapp_bridge.desk_backend import DeskBackend, agent_answer
from whatsapp_bridge.inbox import Inbox
from whatsapp_bridge.messages import TEXT, Inbound, reaction
from whatsapp_bridge.relay import HOLDING_REPLY

PHONE = "+51987654321"
OTHER = "+51911111111"
QUEUE = dict(alert_long_poll_s=0.0, alert_poll_s=0.2)  # the stand-in does not long-poll


@pytest.fixture
def desk():
    with DeskBackend() as backend:
        yield backend
    assert backend.problems == []  # nothing the bridge sent broke the contract


def bot_messages(transport, phone: str) -> list[dict]:
    return [m for m in transport.conversation(phone) if m["from"] == "chasqui"]


def react(bridge, phone: str, message_id: str, emoji: str) -> requests.Response:
    return requests.post(f"{bridge.url}/simulator/api/reactions",
                         json={"phone": phone, "message_id": message_id, "emoji": emoji}, timeout=5)


def wait_until(condition, timeout_s: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def answered_reply(bridge, desk, text: str = "Hola") -> tuple[str, dict]:
    """A message asked and answered: (its inbound id, the reply the simulator shows)."""
    before = len(wait_for_replies(bridge.transport, PHONE, 0))
    say(bridge, PHONE, text)
    wait_for_replies(bridge.transport, PHONE, before + 1)
    return desk.agent_calls[-1]["message_id"], bot_messages(bridge.transport, PHONE)[-1]


# -- reactions --------------------------------------------------------------------------------------------
def test_a_reaction_on_a_reply_is_posted_with_the_message_that_reply_answered(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    inbound_id, reply = answered_reply(bridge, desk)
    response = react(bridge, PHONE, reply["id"], "👍")
    assert response.status_code == 202
    wait_until(lambda: desk.reactions, what="POST /agent/reaction")
    assert desk.reactions == [{"phone": PHONE, "message_id": response.json()["id"], "reacted_to": reply["id"],
                               "emoji": "👍", "reply_to": inbound_id}]
    wait_for_counts(bridge, {"answered": 2})
    time.sleep(0.3)
    assert len(bot_messages(bridge.transport, PHONE)) == 1  # a rating is not answered unless the backend says so
    kinds = [m["kind"] for m in bridge.transport.conversation(PHONE)]
    assert kinds == ["message", "reply", "reaction"]


def test_a_reaction_taken_away_is_posted_with_an_empty_emoji(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    _, reply = answered_reply(bridge, desk)
    react(bridge, PHONE, reply["id"], "👎")
    react(bridge, PHONE, reply["id"], "")
    wait_until(lambda: len(desk.reactions) == 2, what="two reactions")
    assert [r["emoji"] for r in desk.reactions] == ["👎", ""]


def test_the_backends_respuesta_chat_to_a_reaction_reaches_the_user_as_a_reply(make_bridge, desk):
    desk.reaction_answer = {"rating": -1, "respuesta_chat": "Gracias, una persona revisará esa respuesta."}
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    _, reply = answered_reply(bridge, desk)
    react(bridge, PHONE, reply["id"], "👎")
    assert wait_for_replies(bridge.transport, PHONE, 2)[1] == "Gracias, una persona revisará esa respuesta."
    wait_for_counts(bridge, {"answered": 2})


def test_a_reaction_to_something_that_is_no_reply_goes_without_reply_to(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    desk.queue.append({"id": 1, "phone": PHONE, "message": "Helada esta noche", "level": "alta"})
    alert = wait_until(lambda: [m for m in bot_messages(bridge.transport, PHONE) if m["kind"] == "alert"])[0]
    react(bridge, PHONE, alert["id"], "❤️")
    wait_until(lambda: desk.reactions, what="POST /agent/reaction")
    assert "reply_to" not in desk.reactions[0] and desk.reactions[0]["reacted_to"] == alert["id"]


def test_a_reaction_while_the_backend_is_down_waits_quietly_and_is_posted_once_it_returns(make_bridge):
    port = free_port()
    bridge = make_bridge(backend_url=f"http://127.0.0.1:{port}", **QUEUE)
    with DeskBackend(port=port) as desk:  # up for the message, then down for the reaction
        inbound_id, reply = answered_reply(bridge, desk)
    react(bridge, PHONE, reply["id"], "🙏🏽")
    time.sleep(1)  # several retry rounds while it is down
    assert bridge.bridge.inbox.counts() == {"answered": 1, "queued": 1}
    assert len(bot_messages(bridge.transport, PHONE)) == 1  # no "the service has problems" note for a rating
    with DeskBackend(port=port) as revived:
        wait_until(lambda: revived.reactions, timeout_s=15, what="the reaction after the outage")
        assert revived.reactions[0]["emoji"] == "🙏🏽" and revived.reactions[0]["reply_to"] == inbound_id
        wait_for_counts(bridge, {"answered": 2})
        assert revived.problems == []


def test_a_backend_without_the_reaction_route_marks_it_done_without_looping(make_bridge, desk):
    desk.reaction_status = 404
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    _, reply = answered_reply(bridge, desk)
    react(bridge, PHONE, reply["id"], "👍")
    wait_for_counts(bridge, {"answered": 2, "refused": 1})
    time.sleep(0.5)
    assert len(bot_messages(bridge.transport, PHONE)) == 1  # the user is told nothing


def test_a_repeated_reaction_id_is_posted_once(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    _, reply = answered_reply(bridge, desk)
    same = reaction(PHONE, "wamid.reaction-1", reply["id"], "👍")
    assert bridge.bridge.relay.receive(same) is True
    assert bridge.bridge.relay.receive(same) is False
    wait_for_counts(bridge, {"answered": 2})
    time.sleep(0.3)
    assert len(desk.reactions) == 1


def test_the_simulator_refuses_a_reaction_it_cannot_place(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    _, reply = answered_reply(bridge, desk)
    user_message = [m for m in bridge.transport.conversation(PHONE) if m["from"] == "user"][0]
    for body, param in [({"phone": PHONE, "message_id": "sim.nothing", "emoji": "👍"}, "message_id"),
                        ({"phone": PHONE, "message_id": user_message["id"], "emoji": "👍"}, "message_id"),
                        ({"phone": OTHER, "message_id": reply["id"], "emoji": "👍"}, "message_id"),
                        ({"phone": PHONE, "message_id": reply["id"], "emoji": 1}, "emoji"),
                        ({"phone": PHONE, "message_id": reply["id"], "emoji": "👍" * 20}, "emoji"),
                        ({"phone": "12", "message_id": reply["id"], "emoji": "👍"}, "phone")]:
        response = requests.post(f"{bridge.url}/simulator/api/reactions", json=body, timeout=5)
        assert response.status_code == 400 and response.json()["error"]["param"] == param, body
    assert bridge.bridge.inbox.counts() == {"answered": 1}


# -- silence and forgetting -------------------------------------------------------------------------------
def test_silence_sends_nothing_and_marks_the_message_answered(make_bridge, desk):
    desk.agent_answers = [agent_answer("", source="officer", silencio=True)]
    bridge = make_bridge(backend_url=desk.url, holding_after_s=0.05, **QUEUE)
    say(bridge, PHONE, "¿me atiende una persona?")
    wait_for_counts(bridge, {"answered": 1})
    time.sleep(0.3)
    assert bot_messages(bridge.transport, PHONE) == []  # no reply, no buttons, no holding note
    typing = requests.get(f"{bridge.url}/simulator/api/messages", params={"phone": PHONE, "after": 10**6},
                          timeout=5).json()["typing"]
    assert typing is False


def test_olvidar_deletes_every_row_of_the_phone_once_the_reply_is_delivered(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    say(bridge, OTHER, "Hola")  # another user's rows stay
    answered_reply(bridge, desk, "Hola")
    answered_reply(bridge, desk, "BORRAR MIS DATOS")
    desk.agent_answers = [agent_answer("Listo: borré todos tus datos.", olvidar=True), agent_answer()]
    say(bridge, PHONE, "sí")
    assert wait_for_replies(bridge.transport, PHONE, 3)[2] == "Listo: borré todos tus datos."
    inbox = bridge.bridge.inbox
    wait_until(lambda: inbox.execute("SELECT COUNT(*) FROM inbox WHERE phone = ?", (PHONE,)).fetchone()[0] == 0,
               what="the phone's rows gone")
    assert inbox.execute("SELECT COUNT(*) FROM reply_ids WHERE phone = ?", (PHONE,)).fetchone()[0] == 0
    assert inbox.execute("SELECT COUNT(*) FROM inbox WHERE phone = ?", (OTHER,)).fetchone()[0] == 1
    say(bridge, PHONE, "Hola de nuevo")  # a new conversation afterwards is a new row, answered as usual
    wait_for_replies(bridge.transport, PHONE, 4)


def test_a_state_file_from_before_the_desk_keeps_working(tmp_path):
    """An inbox written by the previous bridge (no reaction or forget columns, no reply_ids)."""
    import sqlite3
    path = tmp_path / "old.db"
    Inbox(path).connection.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE reply_ids")
        for column in ("reacted_to", "emoji", "forget"):
            connection.execute(f"ALTER TABLE inbox DROP COLUMN {column}")
        connection.execute("INSERT INTO inbox (message_id, phone, kind, text, received_at, next_attempt_at) "
                           "VALUES ('wamid.old', ?, 'text', 'Hola', 1, 1)", (PHONE,))
    inbox = Inbox(path)
    entry = inbox.get(1)
    assert (entry.message_id, entry.reacted_to, entry.forget) == ("wamid.old", None, False)
    second = inbox.add(Inbound(PHONE, "wamid.new", TEXT, "Otra"))
    inbox.piece_sent(second, 1, "wamid.reply")
    assert inbox.answered_by("wamid.reply") == "wamid.new"


# -- the outbound queue's kinds ---------------------------------------------------------------------------
def test_officer_replies_and_notices_arrive_as_bot_messages_and_are_reported_sent(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    desk.queue += [{"id": 7, "phone": PHONE, "message": "Ahora te atiende una persona.", "level": "baja",
                    "kind": "notice"},
                   {"id": 8, "phone": PHONE, "message": "Hola Rosa, soy Ana. ¿Qué pasó con tu riego?",
                    "level": "baja", "kind": "reply"}]
    wait_until(lambda: len(desk.sent_reports()) == 2, what="two sent reports")
    shown = bot_messages(bridge.transport, PHONE)
    assert [(m["kind"], m["officer"]) for m in shown] == [("notice", False), ("reply", True)]
    assert [r["provider_message_id"] for r in desk.sent_reports()] == [m["id"] for m in shown]


def test_a_document_item_is_fetched_and_shown_as_a_downloadable_document(make_bridge, desk):
    bridge = make_bridge(backend_url=desk.url, **QUEUE)
    export = '{"perfil": {"nombre": "Rosa"}, "mensajes": ["Hola"]}'.encode()
    desk.documents[9] = export
    desk.queue.append({"id": 9, "phone": PHONE, "message": "Aquí están tus datos.", "level": "baja",
                       "kind": "document", "document_url": "/alerts/9/document", "document_name": "mis_datos.json",
                       "document_type": "application/json"})
    report = wait_until(lambda: desk.sent_reports(), what="the sent report")[0]
    shown = bot_messages(bridge.transport, PHONE)[0]
    assert (shown["kind"], shown["text"], shown["document"]["name"]) == ("document", "Aquí están tus datos.",
                                                                         "mis_datos.json")
    assert report["provider_message_id"] == shown["id"]
    download = requests.get(bridge.url + shown["document"]["url"], timeout=5)
    assert download.content == export and download.headers["Content-Type"].startswith("application/json")
    assert download.headers["Content-Disposition"].startswith('attachment; filename="mis_datos.json"')
    assert requests.get(f"{bridge.url}/simulator/api/documents/sim.unknown", timeout=5).status_code == 404


def test_a_document_whose_file_cannot_be_fetched_is_reported_failed(make_bridge, desk):
    make_bridge(backend_url=desk.url, **QUEUE)
    desk.queue.append({"id": 10, "phone": PHONE, "message": "Tus datos", "level": "baja", "kind": "document",
                       "document_url": "/alerts/10/document", "document_name": "mis_datos.json",
                       "document_type": "application/json"})
    failed = wait_until(lambda: [body for path, body in desk.reports if path == "/alerts/10/failed"])
    assert "could not be fetched" in failed[0]["error"]


def test_a_holding_note_is_still_sent_to_a_slow_answer(make_bridge, desk):
    """Silence changed nothing for ordinary answers."""
    import threading
    slow = threading.Event()
    original = desk.answer

    def slowly(method, path, headers, raw):
        if path == "/agent":
            slow.wait(0.6)
        return original(method, path, headers, raw)

    desk.answer = slowly
    bridge = make_bridge(backend_url=desk.url, holding_after_s=0.2, **QUEUE)
    say(bridge, PHONE, "Hola")
    assert wait_for_replies(bridge.transport, PHONE, 1, kind="holding") == [HOLDING_REPLY]
    assert wait_for_replies(bridge.transport, PHONE, 1) == ["Respuesta normal."]
