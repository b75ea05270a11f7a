"""The backend against an OpenAI-compatible server that is not Chasqui's: llama-cpp-python's own
server (`python -m llama_cpp.server`, a separate code base with its own request rules) on the
SmolLM2 GGUF, as a process on a loopback port. It takes a schema only as `json_object` + `schema`
and refuses `json_schema`: the engine is recognised from /v1/models and spoken to its way."""
from __future__ import annotations

import sys
import time

import pytest
import requests
from prometheus_client import CollectorRegistry

from backend.agent.model_client import ModelUnavailable, client_for
from backend.agent.model_health import check_all
from backend.agent.model_metrics import ModelMetrics
from backend.agent.model_protocols import openai_body
from backend.understanding.classifier import schema as intent_schema
from tests.servers import RunningService, free_port, service_env

pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra (the test dependencies)")
INTENTS = ["riego", "plaga", "clima"]
SYSTEM = "Clasificas mensajes de agricultores. Responde solo con JSON."
MESSAGE = "Mensaje: «se me llenó de gusanos el maíz»"


@pytest.fixture(scope="module")
def llama_cpp_server(tmp_path_factory, test_model_path):
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(test_model_path), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--model_alias", "smollm2"]
    service = RunningService(command, service_env(), port, tmp_path_factory.mktemp("llama-cpp-server") / "server.log")
    deadline = time.monotonic() + 120
    try:
        while True:  # it has no /health: ready once it lists its model
            if service.process.poll() is not None:
                raise RuntimeError(service.log())
            try:
                if requests.get(f"{service.url}/v1/models", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(service.log())
            time.sleep(0.2)
    except BaseException:
        service.stop()
        raise
    yield service
    service.stop()


def test_the_engine_model_and_slots_are_discovered(llama_cpp_server):
    client = client_for(f"{llama_cpp_server.url}/v1")
    check_all(requests.Session(), client.pool)
    status = client.pool.endpoints[0].status()
    assert (status["engine"], status["model"], status["slots"], status["healthy"]) == ("llama-cpp-python", "smollm2", 1, True)


@pytest.mark.parametrize("stream", [True, False])
def test_a_classification_is_constrained_to_the_options_streamed_or_not(llama_cpp_server, stream):
    registry = CollectorRegistry()
    metrics = ModelMetrics(registry)
    client = client_for(f"{llama_cpp_server.url}/v1", timeout_s=60, retries=0, metrics=metrics, stream=stream)
    output, tier = client.ask(SYSTEM, MESSAGE, intent_schema(INTENTS), max_tokens=16, purpose="classify")
    assert tier == "model" and output["intencion"] in INTENTS
    name = f"{llama_cpp_server.url.removeprefix('http://')}/v1"
    first_tokens = registry.get_sample_value("chasqui_model_first_token_seconds_count", {"endpoint": name}) or 0
    assert (first_tokens == 1) == stream  # a stream has a first token; this server's plain answer no timings


def test_the_shape_other_engines_take_is_refused_by_this_one(llama_cpp_server):
    body = openai_body("other", "smollm2", SYSTEM, MESSAGE, intent_schema(INTENTS), 16, 0.0, False)
    refused = requests.post(f"{llama_cpp_server.url}/v1/chat/completions", json=body, timeout=60)
    assert refused.status_code >= 400 and "json_object" in refused.text
    wrong = client_for(f"{llama_cpp_server.url}/v1#engine=other", timeout_s=60, retries=0)
    with pytest.raises(ModelUnavailable, match="HTTP"):
        wrong.ask(SYSTEM, MESSAGE, intent_schema(INTENTS), max_tokens=16)
