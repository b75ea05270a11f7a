"""The officer's desk end to end: the real backend (its own process, the panel on it, a real
SQLite file), the real bridge (Cloud API transport against the fake Graph API, and the
simulator), an officer working through the panel over HTTP. A user asks for a person; the
officer takes over (the user is told once), the bot stays silent, the officer's reply reaches
the phone and its delivery shows in the panel, the user rates it with a reaction, the officer
hands back and the bot answers again."""
from __future__ import annotations

import re
import time

import requests

from admin.users import create_user
from tests.databases import opened
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.conftest import cloud_transport, onboard, post_webhook, say, wait_for_replies

PHONE = "+51987654321"
OFFICER, PASSWORD = "ana", "una clave de oficial larga"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FAST_QUEUE = dict(alert_poll_s=0.3, alert_long_poll_s=2.0)


class Panel:
    """An officer's browser session on the backend's /admin, over HTTP."""

    def __init__(self, backend_url: str, database):
        create_user(opened(database), OFFICER, PASSWORD, role="officer")
        self.url, self.session = f"{backend_url}/admin", requests.Session()
        assert self.post("/login", {"username": OFFICER, "password": PASSWORD}).status_code == 302

    def get(self, page: str) -> str:
        response = self.session.get(self.url + page, params={"lang": "en"}, timeout=10)
        assert response.status_code == 200, page
        return response.text

    def post(self, page: str, data: dict, action: str | None = None) -> requests.Response:
        token = _CSRF.search(self.get(page)).group(1)
        return self.session.post(self.url + (action or page), data={**data, "csrf_token": token},
                                 allow_redirects=False, timeout=10)

    def open_takeover(self) -> str:
        """The page of the first conversation in the inbox."""
        match = re.search(r'href="/admin/inbox/(\d+)"', self.get("/inbox/"))
        assert match, "the inbox is empty"
        return f"/inbox/{match.group(1)}"


def wait_until(condition, timeout_s: float = 15, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_takeover_through_the_cloud_api_with_delivery_states_and_a_reaction(tmp_path, backend, make_bridge, graph,
                                                                             cloud_settings):
    bridge = make_bridge(cloud_transport(cloud_settings), backend_url=backend.url, **cloud_settings, **FAST_QUEUE)
    panel = Panel(backend.url, backend.database)

    def user_says(text: str) -> None:
        assert post_webhook(bridge, meta.text_message(PHONE, text)).status_code == 200

    def texts() -> list[str]:
        return graph.texts_to(PHONE)

    for count, text in enumerate(["Hola", "Cajamarca"], start=1):  # Meta gives the name: only the city is asked
        user_says(text)
        wait_until(lambda: len(texts()) >= count, what=f"reply {count}")
    user_says("quiero hablar con una persona")
    wait_until(lambda: len(texts()) >= 3, what="the hand-off reply")
    assert "persona del equipo" in texts()[2]

    page = panel.open_takeover()
    assert "asked for a person" in panel.get("/inbox/")
    assert panel.post(page, {}, page + "/take").status_code == 302
    wait_until(lambda: any("te está atendiendo" in t for t in texts()), what="the notice that a person attends")

    sent_before = len(texts())
    user_says("hola? mis hojas de papa estan amarillas")
    time.sleep(1.5)  # the bot would have answered by now
    assert len(texts()) == sent_before  # silent while the officer holds it
    assert "mis hojas de papa estan amarillas" in panel.get(page)  # the officer sees it

    assert panel.post(page, {"text": "Hola Rosa, soy Ana. ¿Desde cuándo las ves así?"}, page + "/reply").status_code == 302
    reply = wait_until(lambda: next((r for r in graph.sent_to(PHONE) if "soy Ana" in meta_text(r)), None),
                       what="the officer's reply on the phone")
    reply_id = next(r["message_id"] for r in graph.accepted if r["kind"] == "message" and r["body"] is reply)
    for status in ("delivered", "read"):
        assert post_webhook(bridge, meta.status_update(reply_id, status, PHONE)).status_code == 200
    wait_until(lambda: "read" in delivery_cells(panel.get(page)), what="the read status in the panel")

    assert post_webhook(bridge, meta.reaction(PHONE, reply_id, "🙏")).status_code == 200
    rated = wait_until(lambda: re.search(r"🙏", panel.get("/ratings/?value=good&review=")), what="the rating")
    assert rated and "officer" in panel.get("/ratings/?value=good&review=")

    assert panel.post(page, {}, page + "/hand-back").status_code == 302
    wait_until(lambda: any("Te dejo de nuevo" in t for t in texts()), what="the notice that the bot is back")
    count = len(texts())
    user_says("cuantas notas tengo")
    wait_until(lambda: len(texts()) > count, what="the bot's answer after the hand-back")
    assert "notas" in texts()[-1]
    assert graph.rejected == []


def meta_text(body: dict) -> str:
    return (body.get("text") or {}).get("body", "")


def delivery_cells(html: str) -> str:
    return " ".join(re.findall(r'class="[^"]*chasqui-delivery[^"]*">(.*?)</td>', html, re.S))


def test_takeover_through_the_simulator_and_a_bad_reaction_asks_for_a_person(tmp_path, backend, make_bridge):
    bridge = make_bridge(backend_url=backend.url, **FAST_QUEUE)
    panel = Panel(backend.url, backend.database)
    onboard(bridge, PHONE)
    say(bridge, PHONE, "cuantas notas tengo")
    wait_for_replies(bridge.transport, PHONE, 4)
    answer = [m for m in bridge.transport.conversation(PHONE) if m["from"] == "chasqui"][-1]
    response = requests.post(f"{bridge.url}/simulator/api/reactions",
                             json={"phone": PHONE, "message_id": answer["id"], "emoji": "👎"}, timeout=5)
    assert response.status_code in (200, 202), response.text
    wait_until(lambda: len([m for m in bridge.transport.conversation(PHONE) if m["from"] == "chasqui"]) >= 5,
               what="the answer to the 👎")
    assert "rated an answer bad" in panel.get("/inbox/")

    page = panel.open_takeover()
    panel.post(page, {}, page + "/take")
    wait_until(lambda: any("te está atendiendo" in m["text"] for m in bridge.transport.conversation(PHONE)),
               what="the notice on the simulator")
    before = len(bridge.transport.conversation(PHONE))
    say(bridge, PHONE, "aló?")
    time.sleep(1.5)
    assert len(bridge.transport.conversation(PHONE)) == before + 1  # only the user's own message
    panel.post(page, {"text": "Aquí estoy, dime."}, page + "/reply")
    wait_until(lambda: any(m["text"] == "Aquí estoy, dime." for m in bridge.transport.conversation(PHONE)),
               what="the officer's reply on the simulator")
    panel.post(page, {}, page + "/hand-back")
    wait_until(lambda: any("Te dejo de nuevo" in m["text"] for m in bridge.transport.conversation(PHONE)),
               what="the hand-back notice")
