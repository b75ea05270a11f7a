"""Calls to the model API's /chat with time limits, retries on 503 that honour Retry-After, and
a circuit breaker per endpoint, so a model that is down costs one fast failure, not a timeout
per message. The primary endpoint is tried first, then the secondary if configured."""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import jsonschema
import requests

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """No endpoint produced a valid answer in time."""


class _CallFailed(RuntimeError):
    pass


class CircuitBreaker:
    """Open after `threshold` consecutive failures; let one trial call through after `cooldown_s`."""

    def __init__(self, threshold: int, cooldown_s: float):
        self.threshold, self.cooldown_s = threshold, cooldown_s
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def allows(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.cooldown_s:
                self._opened_at = time.monotonic()  # half-open: one trial, the next wait a cooldown again
                return True
            return False

    def record(self, success: bool) -> None:
        with self._lock:
            if success:
                self._failures, self._opened_at = 0, None
            else:
                self._failures += 1
                if self._failures >= self.threshold:
                    self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


@dataclass
class Endpoint:
    label: str  # "model" or "secondary": recorded as the reply's source
    url: str
    token: str
    breaker: CircuitBreaker


class ModelClient:
    def __init__(self, endpoints: list[Endpoint], timeout_s: float, retries: int, temperature: float = 0.0,
                 max_retry_wait_s: float = 10.0):
        self.endpoints = endpoints
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_retry_wait_s = max_retry_wait_s
        self._session = requests.Session()

    def ask(self, system: str, context: dict | str, schema: dict, allowed: set[str] | None = None,
            max_tokens: int = 300, check: dict | None = None) -> tuple[dict, str]:
        """Return (model_output, endpoint label) or raise ModelUnavailable. `allowed` limits the
        endpoints tried to those labels (the contact's quotas); None tries them all. The answer
        must fit `check` (default: `schema`, the one the model is constrained to)."""
        body = {"system": system, "context": context, "max_tokens": max_tokens, "schema": schema,
                "temperature": self.temperature}
        problems = []
        for endpoint in self.endpoints:
            if allowed is not None and endpoint.label not in allowed:
                continue
            if not endpoint.breaker.allows():
                problems.append(f"{endpoint.label}: circuit open")
                continue
            try:
                output = self._call(endpoint, body, check or schema)
            except _CallFailed as problem:
                endpoint.breaker.record(False)
                problems.append(f"{endpoint.label}: {problem}")
                log.warning("model call failed", extra={"endpoint": endpoint.label, "error": str(problem)})
                continue
            endpoint.breaker.record(True)
            return output, endpoint.label
        raise ModelUnavailable("; ".join(problems) or "no model endpoint configured")

    def warm_up(self, prompts: list[tuple[str, dict]], give_up_after_s: float = 900.0) -> int:
        """Has every endpoint evaluate these fixed system prompts once (a tiny request each), so
        that the first users find them in the model's cache or saved prefix states. Waits for a
        model that is still loading; never touches the circuit breakers. Returns requests answered."""
        answered, deadline = 0, time.monotonic() + give_up_after_s
        for endpoint in self.endpoints:
            headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
            for system, schema in prompts:
                body = {"system": system, "context": "Mensaje: «hola»", "max_tokens": 16, "schema": schema,
                        "temperature": 0.0}
                while time.monotonic() < deadline:
                    try:
                        response = self._session.post(f"{endpoint.url}/chat", json=body, headers=headers,
                                                      timeout=self.timeout_s)
                    except requests.RequestException:
                        response = None
                    if response is not None and response.status_code not in (502, 503, 504):
                        answered += response.status_code in (200, 422)  # 422: cut at 16 tokens, still evaluated
                        break
                    time.sleep(2.0)
        return answered

    def _call(self, endpoint: Endpoint, body: dict, schema: dict) -> dict:
        deadline = time.monotonic() + self.timeout_s
        headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _CallFailed("time limit reached")
            try:
                response = self._session.post(f"{endpoint.url}/chat", json=body, headers=headers, timeout=remaining)
            except requests.RequestException as problem:
                raise _CallFailed(f"{type(problem).__name__}") from None
            if response.status_code == 200:
                return _valid_output(response, schema)
            if response.status_code in (502, 503, 504) and attempt < self.retries:
                wait = _retry_after(response, default=0.5 * 2 ** attempt)
                if wait > min(self.max_retry_wait_s, deadline - time.monotonic()):
                    raise _CallFailed(f"HTTP {response.status_code}, Retry-After {wait:.0f} s is too long")
                time.sleep(wait)
                continue
            raise _CallFailed(f"HTTP {response.status_code}: {response.text[:200]}")
        raise _CallFailed("retries exhausted")


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _valid_output(response: requests.Response, schema: dict) -> dict:
    try:
        output = json.loads(response.json()["content"])
        jsonschema.validate(output, schema)
    except (ValueError, KeyError, TypeError, jsonschema.ValidationError) as problem:
        raise _CallFailed(f"answer does not fit the schema: {str(problem)[:200]}") from None
    return output
