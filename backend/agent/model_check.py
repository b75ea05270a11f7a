"""`chasqui model servers [--ask]`: the model servers the backend's settings name, checked the way
the backend's pool checks them (protocol, engine, model, slots, health), and with --ask one tiny
schema-constrained request each, so an operator sees a wrong URL, token or engine before users do."""
from __future__ import annotations

import time

import requests

from backend.agent.circuit_breaker import CircuitBreaker
from backend.agent.model_client import ModelClient, ModelUnavailable
from backend.agent.model_health import probe
from backend.agent.model_pool import ModelPool, PooledEndpoint
from backend.settings import BackendSettings, model_endpoint_specs

SYSTEM = 'Responde solo con JSON: {"estado": "listo"}.'
SCHEMA = {"type": "object", "properties": {"estado": {"type": "string", "enum": ["listo"]}}, "required": ["estado"],
          "additionalProperties": False}


def check(settings: BackendSettings, ask: bool) -> tuple[list[str], bool]:
    """One line per endpoint, and whether every one is up (and answered, with `ask`)."""
    session, lines, all_good = requests.Session(), [], True
    for spec in model_endpoint_specs(settings):
        endpoint = PooledEndpoint(spec, CircuitBreaker(1, 0.0))
        healthy = probe(session, endpoint)
        line = (f"{spec.tier:9} {spec.name:32} {spec.protocol:7} engine={endpoint.engine or '?'} "
                f"model={endpoint.model or '-'} slots={endpoint.slots} "
                f"{'up' if healthy else 'DOWN'} ({endpoint.health_detail})")
        good = healthy
        if ask and healthy:
            client = ModelClient(ModelPool([endpoint]), settings.model_timeout_s, 0, stream=settings.model_stream)
            started = time.monotonic()
            try:
                client.ask(SYSTEM, "Mensaje: «hola»", SCHEMA, allowed={spec.tier}, max_tokens=16,
                           purpose="classify" if spec.tier == "classify" else "answer")
                line += f"; answered in {time.monotonic() - started:.1f} s"
            except ModelUnavailable as problem:
                line += f"; NO ANSWER: {problem}"
                good = False
        lines.append(line)
        all_good = all_good and good
    return lines, all_good
