"""Several model servers sharing the load: each request goes to the endpoint of its tier with the
fewest requests outstanding (relative to its slots), never past an endpoint's slots; when every
endpoint is full the caller waits here, in the backend, for the first slot that frees.

Why wait here rather than at the servers: a llama.cpp context answers one request at a time, so
a second request sent to it only queues there, while a slot may be free on the other server;
waiting here lets whichever frees first take it. The line is kept in arrival order: with every
waiter woken at once and the quickest taking the slot, 20 users asking at once saw a p95 twice
their p50 (bench/model_pool.py, one unlucky user waiting through several others' turns). Measured with bench/model_pool.py: choosing
and releasing cost well under 2 ms per call (the figure is in the README)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from backend.agent.circuit_breaker import CircuitBreaker
from backend.agent.model_endpoints import CHASQUI, EndpointSpec

TIERS = ("classify", "model", "secondary")
# Until a server says otherwise: one llama.cpp context, one Ollama runner (OLLAMA_NUM_PARALLEL's
# default), a batching server's worth for vLLM and hosted APIs.
DEFAULT_SLOTS = {"chasqui": 1, "llama.cpp": 1, "llama-cpp-python": 1, "vllm": 16, "vllm-guided": 16, "ollama": 1,
                 "openai": 16, "other": 4}


class PoolTimeout(RuntimeError):
    """Every endpoint of the tier stayed full until the call's time limit."""


@dataclass(eq=False)
class PooledEndpoint:
    spec: EndpointSpec
    breaker: CircuitBreaker
    outstanding: int = 0
    healthy: bool = True  # until a health check says otherwise
    engine: str | None = None  # the spec's, or what discovery found
    model: str | None = None
    discovered_slots: int | None = None
    last_chosen: float = 0.0
    health_detail: str = "not checked yet"
    checked_at: float = float("-inf")  # time.monotonic() of the last health check
    discovery_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.engine = self.spec.engine or ("chasqui" if self.spec.protocol == CHASQUI else None)
        self.model = self.spec.model

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tier(self) -> str:
        return self.spec.tier

    @property
    def slots(self) -> int:
        return self.spec.slots or self.discovered_slots or DEFAULT_SLOTS.get(self.engine or "", 1)

    def status(self) -> dict:
        return {"url": self.name, "tier": self.tier, "protocol": self.spec.protocol, "engine": self.engine,
                "model": self.model, "healthy": self.healthy, "detail": self.health_detail,
                "circuit": "open" if self.breaker.is_open else "closed",
                "outstanding": self.outstanding, "slots": self.slots}


class _Ticket:
    """One caller waiting in a tier's line, with the endpoints it will not use (tried already)."""

    def __init__(self, exclude: set):
        self.exclude = set(exclude)


class ModelPool:
    def __init__(self, endpoints: list[PooledEndpoint]):
        self.endpoints = endpoints
        self._by_tier = {tier: [e for e in endpoints if e.tier == tier] for tier in TIERS}
        self._ready = threading.Condition()
        self._lines: dict[str, list[_Ticket]] = {}  # callers of each tier, in arrival order

    @classmethod
    def of(cls, specs: list[EndpointSpec], breaker_failures: int = 3, breaker_cooldown_s: float = 30.0) -> "ModelPool":
        """A pool of these endpoints, each with its own circuit breaker."""
        return cls([PooledEndpoint(spec, CircuitBreaker(breaker_failures, breaker_cooldown_s)) for spec in specs])

    def tier(self, name: str) -> list[PooledEndpoint]:
        return self._by_tier.get(name, [])

    def acquire(self, tier: str, exclude: set, deadline: float) -> PooledEndpoint | None:
        """The endpoint to send one request to, its slot taken; None when no endpoint of the tier
        is left to try (all excluded or their circuits open). Raises PoolTimeout when some could
        answer but stayed full until `deadline` (time.monotonic()). Waiters are served in arrival
        order: a freed slot goes to the longest waiting caller that can use it."""
        ticket = _Ticket(exclude)
        with self._ready:
            line = self._lines.setdefault(tier, [])
            line.append(ticket)
            try:
                while True:
                    candidates = [e for e in self._by_tier.get(tier, [])
                                  if e not in ticket.exclude and e.breaker.would_allow()]
                    if not candidates:
                        return None
                    usable = [e for e in candidates if e.healthy] or candidates  # a stale "down" must not stop all
                    free = [e for e in usable if e.outstanding < e.slots and not self._owed(line, ticket, e)]
                    if free:
                        chosen = min(free, key=lambda e: (e.outstanding / e.slots, e.last_chosen))
                        if not chosen.breaker.allows():  # another caller took the half-open trial
                            ticket.exclude = ticket.exclude | {chosen}
                            continue
                        chosen.outstanding += 1
                        chosen.last_chosen = time.monotonic()
                        return chosen
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PoolTimeout(f"all {len(usable)} {tier} endpoints stayed busy")
                    self._ready.wait(min(remaining, 1.0))  # re-read breakers and health at least every second
            finally:
                line.remove(ticket)
                self._ready.notify_all()

    def _owed(self, line: list[_Ticket], ticket: _Ticket, endpoint: PooledEndpoint) -> bool:
        """Whether a caller that came earlier would take this endpoint's free slot."""
        for earlier in line:
            if earlier is ticket:
                return False
            if self._would_use(earlier, endpoint):
                return True
        return False

    def _would_use(self, ticket: _Ticket, endpoint: PooledEndpoint) -> bool:
        if endpoint in ticket.exclude:
            return False
        healthy_left = any(e.healthy and e not in ticket.exclude and e.breaker.would_allow()
                           for e in self._by_tier[endpoint.tier])
        return endpoint.healthy or not healthy_left

    def release(self, endpoint: PooledEndpoint) -> None:
        with self._ready:
            endpoint.outstanding -= 1
            self._ready.notify_all()

    def changed(self) -> None:
        """Health or slots changed: waiters look again."""
        with self._ready:
            self._ready.notify_all()
