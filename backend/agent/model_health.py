"""Health checks and discovery for the pool's endpoints: is the server up and its model loaded,
which engine is it, which model does it serve, how many requests does it take at once.

A Chasqui model API answers GET /health with 200 once its model is loaded (503 while loading).
An OpenAI-protocol server is up when GET /v1/models answers; its `owned_by` names the engine
("chasqui", "llamacpp", llama-cpp-python's "me", "vllm", Ollama's "library"/"ollama", OpenAI's
"system"/"openai"), and
llama.cpp's GET /props says how many parallel slots it was started with (`total_slots`), and its
GET /health answers 503 until the model is loaded (vLLM does not listen until then)."""
from __future__ import annotations

import logging
import threading
import time
import weakref

import requests

from backend.agent.model_endpoints import CHASQUI
from backend.agent.model_pool import ModelPool, PooledEndpoint

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 2.0
OWNERS = {"chasqui": "chasqui", "llamacpp": "llama.cpp", "llama.cpp": "llama.cpp", "me": "llama-cpp-python", "vllm": "vllm",
          "library": "ollama", "ollama": "ollama", "system": "openai", "openai": "openai", "openai-internal": "openai"}


def headers(endpoint: PooledEndpoint) -> dict:
    return {"Authorization": f"Bearer {endpoint.spec.token}"} if endpoint.spec.token else {}


def probe(session: requests.Session, endpoint: PooledEndpoint) -> bool:
    """Checks one endpoint now and records what it found; True when it can answer."""
    try:
        if endpoint.spec.protocol == CHASQUI:
            response = session.get(f"{endpoint.spec.url}/health", timeout=PROBE_TIMEOUT_S)
            healthy, detail = response.status_code == 200, _chasqui_detail(response)
        else:
            response = session.get(f"{endpoint.spec.url}/models", headers=headers(endpoint), timeout=PROBE_TIMEOUT_S)
            healthy = response.status_code == 200
            detail = "ready" if healthy else f"HTTP {response.status_code} from /v1/models"
            if healthy:
                _discover(session, endpoint, response)
                if endpoint.engine == "llama.cpp":  # lists its model while still loading it
                    loaded = session.get(f"{endpoint.spec.url[:-3]}/health", timeout=PROBE_TIMEOUT_S)
                    healthy = loaded.status_code == 200
                    detail = "ready" if healthy else "loading the model"
    except requests.RequestException as problem:
        healthy, detail = False, type(problem).__name__
    if healthy != endpoint.healthy:
        log.info("model endpoint %s", "up" if healthy else "down", extra={"endpoint": endpoint.name, "detail": detail})
    endpoint.healthy, endpoint.health_detail, endpoint.checked_at = healthy, detail, time.monotonic()
    return healthy


def ensure_model_known(session: requests.Session, endpoint: PooledEndpoint) -> str | None:
    """The `model` field an OpenAI-protocol request needs: stated, discovered, or found now."""
    if endpoint.model is None:
        with endpoint.discovery_lock:
            if endpoint.model is None:
                probe(session, endpoint)
    return endpoint.model


def _discover(session: requests.Session, endpoint: PooledEndpoint, response: requests.Response) -> None:
    try:
        models = [m for m in response.json().get("data", []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        models = []
    listed = models[0] if models else {}
    if endpoint.spec.model is None and isinstance(listed.get("id"), str):
        endpoint.model = listed["id"]
    if endpoint.spec.engine is None:
        endpoint.engine = OWNERS.get(str(listed.get("owned_by", "")).lower(), "other")
    if endpoint.engine == "llama.cpp" and endpoint.spec.slots is None:
        try:
            slots = session.get(f"{endpoint.spec.url[:-3]}/props", headers=headers(endpoint),
                                timeout=PROBE_TIMEOUT_S).json().get("total_slots")
        except (requests.RequestException, ValueError, AttributeError):
            slots = None
        if isinstance(slots, int) and slots > 0:
            endpoint.discovered_slots = slots


def _chasqui_detail(response: requests.Response) -> str:
    try:
        return str(response.json().get("status", response.status_code))
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


def check_all(session: requests.Session, pool: ModelPool, fresh_s: float = 0.0,
              wait_s: float = PROBE_TIMEOUT_S * 3) -> None:
    """Checks every endpoint not checked in the last `fresh_s` seconds, all at once, waiting at
    most `wait_s` (a server that hangs finishes its check in the background)."""
    stale = [e for e in pool.endpoints if time.monotonic() - e.checked_at > fresh_s]
    probes = [threading.Thread(target=probe, args=(session, e), daemon=True) for e in stale]
    for thread in probes:
        thread.start()
    deadline = time.monotonic() + wait_s
    for thread in probes:
        thread.join(max(0.0, deadline - time.monotonic()))
    pool.changed()


def start_health_checks(pool: ModelPool, interval_s: float) -> threading.Thread | None:
    """Checks every endpoint now and then every `interval_s`, in a daemon thread that ends when
    the pool is dropped (tests build many apps; none leaves a thread behind)."""
    if interval_s <= 0 or not pool.endpoints:
        return None
    reference = weakref.ref(pool)
    session = requests.Session()

    def loop():
        while True:
            pool_now = reference()
            if pool_now is None:
                return
            check_all(session, pool_now)
            del pool_now
            time.sleep(interval_s)
    thread = threading.Thread(target=loop, name="model-health", daemon=True)
    thread.start()
    return thread
