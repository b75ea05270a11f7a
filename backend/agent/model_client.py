"""Calls to the model servers: schema-constrained JSON through the pool (backend/agent/model_pool.py),
in the protocol each endpoint speaks (backend/agent/model_protocols.py), with a time limit per
call, a circuit breaker per endpoint, and failover: a request an endpoint fails (down, killed
mid-answer, an answer that does not fit the schema) goes to the next endpoint of its tier, then
to the next tier the caller allows, so a server lost mid-run loses no message.

Tiers: "classify" (optional, the short classification calls: a small fast model), "model" (the
answers), "secondary" (the fallback, and the answers once a contact's daily quota of the large
model is spent). A tier's label is recorded as the reply's source and counted in the quotas."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar

import jsonschema
import requests

from backend.agent import model_health, model_protocols
from backend.agent.model_endpoints import CHASQUI, parse_endpoints
from backend.agent.model_pool import ModelPool, PooledEndpoint, PoolTimeout
from backend.agent.model_protocols import Generation, ProtocolError

log = logging.getLogger(__name__)
ANSWER_TIERS = ("model", "secondary")
# Told when a streamed answer's first token arrives, for the turn running in this thread
# (backend/agent/streamed_answer.py); an argument would have to cross the whole orchestrator.
FIRST_TOKEN: ContextVar[Callable[[], None] | None] = ContextVar("first_token", default=None)
BUSY = (429, 502, 503, 504)


class ModelUnavailable(RuntimeError):
    """No endpoint produced a valid answer in time."""


class _CallFailed(RuntimeError):
    """The endpoint did not answer (down, refused, cut off): a failure for its circuit breaker."""


class _BadAnswer(RuntimeError):
    """The endpoint answered, but its words are no usable answer (cut at max_tokens: HTTP 422
    output_truncated; not the schema). The server is healthy: its breaker counts a success, or a
    few long answers in a row would shut a working server out for a cooldown (seen: every
    question of the scale-out test apologised). Another endpoint may still answer it."""


class _Busy(RuntimeError):
    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


class ModelClient:
    def __init__(self, pool: ModelPool, timeout_s: float, retries: int, temperature: float = 0.0,
                 max_retry_wait_s: float = 10.0, metrics=None, stream: bool = True):
        self.pool = pool
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_retry_wait_s = max_retry_wait_s
        self.metrics = metrics  # backend.agent.model_metrics.ModelMetrics, or None
        self.stream = stream  # OpenAI-protocol endpoints stream: first-token time and tokens/s measured
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=64)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @property
    def endpoints(self) -> list[PooledEndpoint]:
        return self.pool.endpoints

    def tiers(self) -> list[str]:
        """The answer tiers configured, in the order they are tried (quotas are kept per tier)."""
        return [tier for tier in ANSWER_TIERS if self.pool.tier(tier)]

    def ask(self, system: str, context: dict | str, schema: dict, allowed: set[str] | None = None,
            max_tokens: int = 300, check: dict | None = None, purpose: str = "answer",
            on_first_token: Callable[[], None] | None = None) -> tuple[dict, str]:
        """Return (model_output, tier label) or raise ModelUnavailable. `allowed` limits the answer
        tiers tried to those labels (the contact's quotas); None tries them all. A classification
        (`purpose="classify"`) goes to the classify tier first when there is one. The answer must
        fit `check` (default: `schema`, the one the model is constrained to)."""
        on_first_token = on_first_token or FIRST_TOKEN.get()
        tiers = [tier for tier in ANSWER_TIERS if allowed is None or tier in allowed]
        if purpose == "classify" and self.pool.tier("classify"):
            tiers.insert(0, "classify")
        problems: list[str] = []
        for tier in tiers:  # each tier has the whole time limit, as each endpoint had before the pool
            output = self._ask_tier(tier, system, context, schema, check or schema, max_tokens,
                                    time.monotonic() + self.timeout_s, problems, on_first_token)
            if output is not None:
                return output, tier
        raise ModelUnavailable("; ".join(problems) or "no model endpoint configured")

    def _ask_tier(self, tier, system, context, schema, check, max_tokens, deadline, problems,
                  on_first_token) -> dict | None:
        failed: set[PooledEndpoint] = set()
        for attempt in range(self.retries + 1):
            busy_waits = []
            tried: set[PooledEndpoint] = set(failed)
            while True:
                waited_from = time.monotonic()
                try:
                    endpoint = self.pool.acquire(tier, tried, deadline)
                except PoolTimeout as problem:
                    problems.append(f"{tier}: {problem}")
                    return None
                if endpoint is None:
                    break
                if self.metrics:
                    self.metrics.pool_wait.labels(tier).observe(time.monotonic() - waited_from)
                tried.add(endpoint)
                try:  # the call itself has the full time limit: a failover after a loss mid-answer is not cut short
                    output = self._call(endpoint, system, context, schema, check, max_tokens,
                                        time.monotonic() + self.timeout_s, on_first_token)
                except _Busy as busy:
                    busy_waits.append(busy.wait_s)
                    problems.append(f"{endpoint.name}: {busy}")
                    self._count(endpoint, "busy")
                    continue
                except (_BadAnswer, _CallFailed) as problem:
                    answered = isinstance(problem, _BadAnswer)  # a healthy server whose words were no answer
                    endpoint.breaker.record(answered)
                    failed.add(endpoint)
                    problems.append(f"{endpoint.name}: {problem}")
                    self._count(endpoint, "bad_answer" if answered else "failed")
                    log.log(logging.INFO if answered else logging.WARNING,
                            "model answer unusable" if answered else "model call failed",
                            extra={"endpoint": endpoint.name, "error": str(problem)})
                    continue
                finally:
                    self.pool.release(endpoint)
                endpoint.breaker.record(True)
                self._count(endpoint, "ok")
                return output
            if not busy_waits or attempt == self.retries:
                break
            wait = min(busy_waits)
            if wait > min(self.max_retry_wait_s, deadline - time.monotonic()):
                problems.append(f"{tier}: Retry-After {wait:.0f} s is too long")
                break
            time.sleep(wait)
        for endpoint in tried - failed:  # busy to the last: one failure for the breaker
            endpoint.breaker.record(False)
        return None

    def _call(self, endpoint: PooledEndpoint, system, context, schema, check, max_tokens, deadline,
              on_first_token) -> dict:
        if deadline - time.monotonic() <= 0:
            raise _CallFailed("time limit reached")
        started = time.monotonic()
        streaming = self.stream and endpoint.spec.protocol != CHASQUI
        try:
            response = self._send(endpoint, system, context, schema, max_tokens, self.temperature, streaming,
                                  deadline - time.monotonic())
            if response is None:
                raise _CallFailed("no model listed at /v1/models; name one with #model= in the URL")
            with response:
                if response.status_code in BUSY:
                    raise _Busy(f"HTTP {response.status_code}", _retry_after(response, 0.5))
                if response.status_code == 422:  # the model API's output_truncated / output_invalid
                    raise _BadAnswer(f"HTTP 422: {response.text[:200]}")
                if response.status_code != 200:
                    raise _CallFailed(f"HTTP {response.status_code}: {response.text[:200]}")
                if streaming and response.headers.get("Content-Type", "").startswith("text/event-stream"):
                    generation = model_protocols.read_openai_stream(response.iter_lines(), started, on_first_token,
                                                                    deadline)
                elif endpoint.spec.protocol == CHASQUI:
                    generation = model_protocols.read_chasqui(response.json())
                else:
                    generation = model_protocols.read_openai(response.json())
        except requests.RequestException as problem:
            raise _CallFailed(type(problem).__name__) from None
        except (ProtocolError, ValueError) as problem:
            raise _CallFailed(str(problem)[:200]) from None
        if self.metrics:
            self.metrics.observe(endpoint.name, time.monotonic() - started, generation)
        return _valid_output(generation, check, endpoint.engine == "openai")

    def _send(self, endpoint: PooledEndpoint, system, context, schema, max_tokens: int, temperature: float,
              stream: bool, timeout_s: float) -> requests.Response | None:
        """One request in the endpoint's protocol; None when an OpenAI server names no model."""
        headers = model_health.headers(endpoint)
        timeout_s = max(0.1, timeout_s)
        if endpoint.spec.protocol == CHASQUI:
            body = model_protocols.chasqui_body(system, context, schema, max_tokens, temperature)
            return self._session.post(f"{endpoint.spec.url}/chat", json=body, headers=headers, timeout=timeout_s)
        model = model_health.ensure_model_known(self._session, endpoint)
        if model is None:
            return None
        body = model_protocols.openai_body(endpoint.engine or "other", model, system, context, schema, max_tokens,
                                           temperature, stream)
        return self._session.post(f"{endpoint.spec.url}/chat/completions", json=body, stream=stream, headers=headers,
                                  timeout=timeout_s)

    def warm_up(self, prompts: list[tuple[str, dict]], give_up_after_s: float = 900.0) -> int:
        """Has every endpoint evaluate these fixed system prompts once (a tiny request each), so
        that the first users find them in the model's cache or saved prefix states. Waits for a
        model that is still loading; never touches the circuit breakers. Returns requests answered."""
        answered, deadline = 0, time.monotonic() + give_up_after_s
        for endpoint in self.endpoints:
            for system, schema in prompts:
                while time.monotonic() < deadline:
                    try:
                        response = self._send(endpoint, system, "Mensaje: «hola»", schema, 16, 0.0, False,
                                              self.timeout_s)
                    except requests.RequestException:
                        response = None
                    if response is not None and response.status_code not in BUSY:
                        answered += response.status_code in (200, 422)  # 422: cut at 16 tokens, still evaluated
                        break
                    time.sleep(2.0)
        return answered

    def _count(self, endpoint: PooledEndpoint, outcome: str) -> None:
        if self.metrics:
            self.metrics.calls.labels(endpoint.name, outcome).inc()


def client_for(urls: str, token: str = "", timeout_s: float = 30.0, retries: int = 1, **options) -> ModelClient:
    """A client on these comma-separated URLs as the "model" tier (benchmarks, tools)."""
    return ModelClient(ModelPool.of(parse_endpoints(urls, token, "model", "urls")), timeout_s, retries, **options)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _valid_output(generation: Generation, schema: dict, strict_rewritten: bool) -> dict:
    try:
        output = json.loads(generation.text)
        if strict_rewritten:
            output = model_protocols.drop_nulls_of_optional(output, schema)
        jsonschema.validate(output, schema)
    except (ValueError, TypeError, jsonschema.ValidationError) as problem:
        raise _BadAnswer(f"answer does not fit the schema: {str(problem)[:200]}") from None
    return output
