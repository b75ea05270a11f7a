"""What /metrics says about the model servers, per endpoint: calls by outcome, call time, time to
first token and tokens per second (from streams, or the server's own timings where it gives
them), time waited for a free slot, and, read at scrape time, each endpoint's outstanding
requests, slots, health and circuit."""
from __future__ import annotations

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from backend.agent.model_pool import ModelPool
from backend.agent.model_protocols import Generation


class ModelMetrics:
    def __init__(self, registry):
        self.calls = Counter("chasqui_model_calls", "Model calls by endpoint and outcome (ok, failed, busy, bad_answer)",
                             ["endpoint", "outcome"], registry=registry)
        self.call_seconds = Histogram("chasqui_model_call_seconds", "Time of one answered model call",
                                      ["endpoint"], registry=registry,
                                      buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60))
        self.first_token = Histogram("chasqui_model_first_token_seconds", "Time from sending a model request "
                                     "to its first token", ["endpoint"], registry=registry,
                                     buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30))
        self.tokens_per_second = Histogram("chasqui_model_tokens_per_second", "Generation speed of one call, "
                                           "after its first token", ["endpoint"], registry=registry,
                                           buckets=(2, 5, 10, 15, 20, 30, 50, 80, 120, 200, 400))
        self.pool_wait = Histogram("chasqui_model_pool_wait_seconds", "Time a call waited for a free slot",
                                   ["tier"], registry=registry,
                                   buckets=(0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 40))

    def observe(self, endpoint: str, seconds: float, generation: Generation) -> None:
        self.call_seconds.labels(endpoint).observe(seconds)
        if generation.first_token_s is not None:
            self.first_token.labels(endpoint).observe(generation.first_token_s)
        if generation.tokens_per_second is not None:
            self.tokens_per_second.labels(endpoint).observe(generation.tokens_per_second)


class PoolCollector:
    """The pool's state as gauges, read when /metrics is scraped."""

    def __init__(self, pool: ModelPool):
        self.pool = pool

    def collect(self):
        families = {
            "outstanding": GaugeMetricFamily("chasqui_model_outstanding", "Requests in flight per endpoint",
                                             labels=["endpoint", "tier"]),
            "slots": GaugeMetricFamily("chasqui_model_slots", "Requests an endpoint takes at once",
                                       labels=["endpoint", "tier"]),
            "healthy": GaugeMetricFamily("chasqui_model_healthy", "1 when the last health check passed",
                                         labels=["endpoint", "tier"]),
            "circuit": GaugeMetricFamily("chasqui_model_circuit_open", "1 while the endpoint's circuit is open",
                                         labels=["endpoint", "tier"]),
        }
        for endpoint in self.pool.endpoints:
            labels = [endpoint.name, endpoint.tier]
            families["outstanding"].add_metric(labels, endpoint.outstanding)
            families["slots"].add_metric(labels, endpoint.slots)
            families["healthy"].add_metric(labels, int(endpoint.healthy))
            families["circuit"].add_metric(labels, int(endpoint.breaker.is_open))
        yield from families.values()
