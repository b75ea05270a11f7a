"""POST /agent: the bridge's entry point (seed contract, extended with an optional message_id).
A message it refuses or fails on is recorded for the admin (backend/failures.py) before the
error goes back to the bridge."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from backend import failures
from backend.agent.orchestrator import AgentReply, Orchestrator
from backend.agent.streamed_answer import streamed, wants_stream
from backend.contacts import find_contact
from backend.http_input import json_object, optional_channel, optional_string, required_phone, required_string
from backend.phones import normalize_phone
from chasqui.http_errors import ApiError, bad_request

MAX_MESSAGE_CHARS = 4096  # WhatsApp's own limit for a text message


def create_agent_blueprint(orchestrator: Orchestrator, metrics) -> Blueprint:
    blueprint = Blueprint("agent", __name__)

    @blueprint.post("/agent")
    def agent():
        if wants_stream(request.headers.get("Accept", "")):
            return streamed(lambda: answer_recording_failures(orchestrator, json_object, answer))
        return jsonify(answer_recording_failures(orchestrator, json_object, answer))

    def answer(body: dict):
        phone = required_phone(body)
        message = required_string(body, "message")
        if len(message) > MAX_MESSAGE_CHARS:
            raise bad_request(f"'message' has {len(message)} characters; the limit is {MAX_MESSAGE_CHARS}",
                              "message", code="message_too_long")
        role = optional_string(body, "role") or "consulta"
        message_id = optional_string(body, "message_id")
        name = optional_string(body, "name")  # the WhatsApp profile name, when the bridge has it
        channel = optional_channel(body.get("channel"))  # the bridge's business number, when it has one
        reply = orchestrator.handle(phone, message.strip(), role, message_id, profile_name(name), channel)
        return answer_body(reply, metrics)

    return blueprint


def profile_name(name: str | None) -> str | None:
    return (name or "").strip()[:60] or None


def answer_body(reply: AgentReply, metrics, said_first: str = "") -> dict:
    """What /agent (and /agent/voice) answer; `said_first` goes before the reply's text."""
    metrics.agent_replies.labels(reply.source).inc()
    metrics.orchestration.observe(reply.orchestration_s)
    output = dict(reply.model_output)
    if said_first:
        output["respuesta_chat"] = f"{said_first}\n\n{output['respuesta_chat']}"
    answer = {"model_output": output, "source": reply.source,
              "timings": {"orchestration_ms": round(reply.orchestration_s * 1000, 2), **reply.timings}}
    if reply.options:
        answer["opciones"] = list(reply.options)  # shown as buttons or a list, or numbered
    if reply.silent:  # an officer holds the conversation: the bridge sends nothing
        output["respuesta_chat"] = ""
        answer["silencio"] = True
    if reply.forget:  # the contact was erased: the bridge forgets the phone too
        answer["olvidar"] = True
    return answer


def answer_recording_failures(orchestrator: Orchestrator, read: Callable[[], dict], answer: Callable[[dict], Any]):
    """`answer(read())`; a message refused (4xx) or failed on (500) is recorded for the admin
    first. A 503 is not: the bridge keeps the message and sends it again."""
    body: dict = {}
    try:
        body = read()
        return answer(body)
    except (ApiError, HTTPException) as refusal:
        status = refusal.status if isinstance(refusal, ApiError) else refusal.code
        if status != 503:
            record_failure(orchestrator, body, getattr(refusal, "message", None) or str(refusal))
        raise
    except Exception as problem:
        record_failure(orchestrator, body, failures.describe(problem))
        raise


def record_failure(orchestrator: Orchestrator, body: dict, error: str) -> None:
    """Keyed by the provider's message id when there is one, so three tries are one row."""
    def text(name: str) -> str:
        value = body.get(name)
        return value.encode("utf-8", "replace").decode() if isinstance(value, str) else ""
    phone = text("phone")
    subject = text("message_id") or f"{phone} · {text('message')[:60]}"
    failures.record(orchestrator.store.db, "message", "/agent", error, subject, detail=text("message") or None,
                    contact_id=_contact_id(orchestrator, phone))


def _contact_id(orchestrator: Orchestrator, phone: str) -> int | None:
    try:
        contact = find_contact(orchestrator.store.db, normalize_phone(phone))
    except Exception:  # an unreadable phone (or a broken database) belongs to no contact
        return None
    return contact.id if contact else None
