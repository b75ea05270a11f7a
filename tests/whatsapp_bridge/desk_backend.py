"""A stand-in for the backend's side of the officer's desk (docs/officers_desk.md), for the
bridge's tests while the real backend's routes are being built: POST /agent answering what a test
scripts (silence, «olvidar»), POST /agent/reaction checking each body strictly against the
contract, and the outbound queue (GET /alerts/pending handing out items of every kind once, a
document item's file behind the token, the sent/failed reports). Every call is recorded, and
what broke the contract is listed in `problems` (and answered 400, as a strict backend would)."""
from __future__ import annotations

import json
import re
import threading

from tests.whatsapp_bridge.conftest import TOKEN
from tests.whatsapp_bridge.voice_backend import _JsonServer

REACTION_FIELDS = {"phone", "message_id", "reacted_to", "emoji", "reply_to"}
REACTION_REQUIRED = {"phone", "message_id", "reacted_to", "emoji"}
E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def agent_answer(text: str = "Respuesta normal.", **extra) -> dict:
    """/agent's answer: model_output with respuesta_chat, plus e.g. silencio=True, olvidar=True."""
    return {"model_output": {"role": "consulta", "respuesta_chat": text, "acciones": {}, "estado": {}},
            "source": "model", **extra}


class DeskBackend(_JsonServer):
    def __init__(self, port: int = 0):
        self.agent_answers = [agent_answer()]  # the next answers, in turn; the last one from then on
        self.reaction_answer: dict = {"rating": 1, "respuesta_chat": None}
        self.reaction_status = 200  # 404: a backend from before /agent/reaction
        self.agent_calls: list[dict] = []
        self.reactions: list[dict] = []  # bodies of POST /agent/reaction, in order
        self.problems: list[str] = []
        self.queue: list[dict] = []  # items GET /alerts/pending hands out next (each once)
        self.documents: dict[int, bytes] = {}  # GET /alerts/<id>/document
        self.reports: list[tuple[str, dict]] = []  # (path, body) of POST /alerts/<id>/<what>
        self._answered: dict[str, dict] = {}  # a reaction id answered before: answered the same
        self._lock = threading.Lock()
        super().__init__(port)

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict | bytes]:
        path = path.split("?")[0]
        if path == "/health":
            return 200, {"status": "ok"}
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            self.problems.append(f"{method} {path} without the bearer token")
            return 401, {"error": {"code": "unauthorized", "message": "bearer token"}}
        with self._lock:
            if method == "GET" and path == "/alerts/pending":
                items, self.queue = self.queue, []
                return 200, {"alerts": [{"lease_token": f"lease-{item['id']}", **item} for item in items]}
            if method == "GET" and path.startswith("/alerts/") and path.endswith("/document"):
                data = self.documents.get(int(path.split("/")[2]))
                return (200, data) if data else (404, {"error": {"code": "not_found", "message": path}})
            body = json.loads(raw or b"{}")
            if path == "/agent":
                self.agent_calls.append(body)
                return 200, self.agent_answers.pop(0) if len(self.agent_answers) > 1 else self.agent_answers[0]
            if path == "/agent/reaction":
                return self._reaction(body)
            if path == "/alerts/delivery":
                return 404, {"error": {"code": "not_found", "message": "not an alert"}}
            if path.startswith("/alerts/"):
                self.reports.append((path, body))
                return 200, {"ok": True}
        return 404, {"error": {"code": "not_found", "message": path}}

    def _reaction(self, body) -> tuple[int, dict]:
        if self.reaction_status != 200:
            return self.reaction_status, {"error": {"code": "stand_in", "message": f"answer {self.reaction_status}"}}
        broken = _contract_problems(body)
        if broken:
            self.problems += broken
            return 400, {"error": {"code": "invalid_reaction", "message": "; ".join(broken)}}
        self.reactions.append(body)
        return 200, self._answered.setdefault(body["message_id"], dict(self.reaction_answer))

    def sent_reports(self) -> list[dict]:
        return [body for path, body in self.reports if path.endswith("/sent")]


def _contract_problems(body) -> list[str]:
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    problems = []
    if set(body) - REACTION_FIELDS:
        problems.append(f"fields outside the contract: {sorted(set(body) - REACTION_FIELDS)}")
    if REACTION_REQUIRED - set(body):
        problems.append(f"missing: {sorted(REACTION_REQUIRED - set(body))}")
    if not (isinstance(body.get("phone"), str) and E164.fullmatch(body["phone"])):
        problems.append(f"phone is not E.164: {body.get('phone')!r}")
    for name in ("message_id", "reacted_to"):
        if not (isinstance(body.get(name), str) and body[name].strip()):
            problems.append(f"{name} must be a non-empty string")
    if not isinstance(body.get("emoji"), str):
        problems.append("emoji must be a string ('' when removed)")
    if "reply_to" in body and not (isinstance(body["reply_to"], str) and body["reply_to"].strip()):
        problems.append("reply_to, when given, must be a non-empty string")
    return problems
