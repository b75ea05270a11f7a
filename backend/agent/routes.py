"""POST /agent: the bridge's entry point (seed contract, extended with an optional message_id)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from backend.agent.orchestrator import Orchestrator
from backend.http_input import json_object, optional_string, required_phone, required_string
from chasqui.http_errors import bad_request

MAX_MESSAGE_CHARS = 4096  # WhatsApp's own limit for a text message


def create_agent_blueprint(orchestrator: Orchestrator, metrics) -> Blueprint:
    blueprint = Blueprint("agent", __name__)

    @blueprint.post("/agent")
    def agent():
        body = json_object()
        phone = required_phone(body)
        message = required_string(body, "message")
        if len(message) > MAX_MESSAGE_CHARS:
            raise bad_request(f"'message' has {len(message)} characters; the limit is {MAX_MESSAGE_CHARS}",
                              "message", code="message_too_long")
        role = optional_string(body, "role") or "consulta"
        message_id = optional_string(body, "message_id")
        reply = orchestrator.handle(phone, message.strip(), role, message_id)
        metrics.agent_replies.labels(reply.source).inc()
        metrics.orchestration.observe(reply.orchestration_s)
        return jsonify({"model_output": reply.model_output, "source": reply.source,
                        "timings": {"orchestration_ms": round(reply.orchestration_s * 1000, 2), **reply.timings}})

    return blueprint
