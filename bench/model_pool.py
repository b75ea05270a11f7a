"""The model pool: 20 users at once through the real backend with one model API process and with
two, and the time the pool itself adds to a call.

1. Pool overhead, no model: (a) ModelPool.acquire + release, alone; (b) ModelClient.ask against
   an instant loopback /chat server versus a bare requests.post of the same body: the difference
   is everything the client adds (choosing, the protocol, the schema check, metrics).
2. --users users (default 20), each onboarded, then all asking --questions open questions
   («¿Qué opinas de …?», answered by the model) at once, through POST /agent of a real backend
   process, against:
   - one model API process with 2 threads (MODEL_API_URL=A/v1);
   - two model API processes with 1 thread each (MODEL_API_URL=A/v1,B/v1): the same 2 cores.
   Prints throughput (answers per minute), turn latency p50/p95, and the pool's wait and each
   endpoint's first-token time from the backend's /metrics.

    .venv/bin/python bench/model_pool.py [--users 20] [--questions 2] [--model NAME] [--skip-overhead]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.agent.circuit_breaker import CircuitBreaker  # noqa: E402
from backend.agent.model_client import client_for  # noqa: E402
from backend.agent.model_endpoints import EndpointSpec  # noqa: E402
from backend.agent.model_pool import ModelPool, PooledEndpoint  # noqa: E402
from bench.conversation_latency import model_counters  # noqa: E402
from tests.backend.scripted_model import ScriptedModel  # noqa: E402
from tests.servers import metric_sum, start_backend, start_model_api  # noqa: E402

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
TOKEN = "bench-pool-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOPICS = ("Cajamarca", "la sierra", "la lluvia", "las montañas", "el frío de junio", "el río", "los mercados",
          "el viento", "la cosecha", "el maíz morado", "la feria", "el granizo", "la neblina", "los cerros",
          "el camino", "la laguna", "el invierno", "las alpacas", "el sol", "la chacra", "el mercado", "la quinua")
SCHEMA = {"type": "object", "properties": {"respuesta_chat": {"type": "string"}}, "required": ["respuesta_chat"]}
WARM_UP_REQUESTS = 2  # the example plug-in's classification and answer prompts, per endpoint


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# --- 1. overhead -------------------------------------------------------------------------------

def pool_bookkeeping(calls: int = 100_000) -> float:
    pool = ModelPool([PooledEndpoint(EndpointSpec(url=f"http://m{n}:1", tier="model", slots=1),
                                     CircuitBreaker(3, 30)) for n in range(4)])
    started = time.perf_counter()
    for _ in range(calls):
        pool.release(pool.acquire("model", set(), time.monotonic() + 1))
    return (time.perf_counter() - started) / calls * 1000


def client_overhead(calls: int = 400) -> tuple[float, float]:
    model = ScriptedModel().answer_by_default("Hola.")
    try:
        client = client_for(model.url, timeout_s=10, retries=0)
        body = {"system": "s", "context": "c", "max_tokens": 16, "schema": SCHEMA, "temperature": 0.0}
        session = requests.Session()
        for _ in range(20):  # connections open, code warm
            client.ask("s", "c", SCHEMA, max_tokens=16)
            session.post(f"{model.url}/chat", json=body, timeout=10).json()
        bare, pooled = [], []
        for _ in range(calls):
            started = time.perf_counter()
            session.post(f"{model.url}/chat", json=body, timeout=10).json()
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.ask("s", "c", SCHEMA, max_tokens=16)
            pooled.append(time.perf_counter() - started)
        return statistics.median(bare) * 1000, statistics.median(pooled) * 1000
    finally:
        model.stop()


# --- 2. users through the backend ----------------------------------------------------------------

def backend_metric(url: str, name: str, **labels: str) -> float:
    return metric_sum(url, name, TOKEN, **labels)


def play(directory: Path, model_urls: list[str], users: int, questions: int) -> dict:
    backend = start_backend(directory, ",".join(f"{url}/v1" for url in model_urls), BACKEND_TOKEN=TOKEN,
                            BACKEND_WARM_UP="1", BACKEND_DAILY_MODEL_CALLS="0", BACKEND_MODEL_TIMEOUT="600")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and min(model_counters(u)["requests"] for u in model_urls) < WARM_UP_REQUESTS:
            time.sleep(0.5)
        phones = [f"5196{n:07d}" for n in range(users)]
        for phone in phones:
            for text in ("Hola", "Rosa", "Cajamarca"):
                requests.post(f"{backend.url}/agent", headers=AUTH, json={"phone": phone, "message": text},
                              timeout=60).raise_for_status()
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def user(index: int, phone: str) -> None:
            for q in range(questions):
                topic = TOPICS[(index + q * users) % len(TOPICS)]
                started = time.perf_counter()
                response = requests.post(f"{backend.url}/agent", headers=AUTH, timeout=900,
                                         json={"phone": phone, "message": f"¿Qué opinas de {topic}?"})
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200 or "generate_ms" not in response.json().get("timings", {}):
                        errors.append(response.text[:120])
        threads = [threading.Thread(target=user, args=(i, phone)) for i, phone in enumerate(phones)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        waits = backend_metric(backend.url, "chasqui_model_pool_wait_seconds_sum")
        waited = backend_metric(backend.url, "chasqui_model_pool_wait_seconds_count")
        first_tokens = {}
        for url in model_urls:
            name = url.removeprefix("http://") + "/v1"
            count = backend_metric(backend.url, "chasqui_model_first_token_seconds_count", endpoint=name)
            total = backend_metric(backend.url, "chasqui_model_first_token_seconds_sum", endpoint=name)
            calls = backend_metric(backend.url, "chasqui_model_calls_total", endpoint=name, outcome="ok")
            first_tokens[name] = (calls, total / count if count else 0.0)
        return {"answers": len(latencies), "errors": errors, "wall_s": wall,
                "per_minute": len(latencies) / wall * 60, "p50": statistics.median(latencies),
                "p95": percentile(latencies, 0.95), "mean_wait": waits / waited if waited else 0.0,
                "endpoints": first_tokens}
    finally:
        backend.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--skip-overhead", action="store_true")
    args = parser.parse_args()
    if not args.skip_overhead:
        print(f"pool acquire + release: {pool_bookkeeping() * 1000:.1f} µs per call (4 endpoints)")
        bare, pooled = client_overhead()
        print(f"/chat on an instant loopback server: bare requests.post {bare:.2f} ms, ModelClient.ask {pooled:.2f} ms "
              f"-> the pool and client add {pooled - bare:.2f} ms per call (median of 400)")
    rows = []
    for label, processes, threads in (("1 model API process, 2 threads", 1, "2"),
                                      ("2 model API processes, 1 thread each", 2, "1")):
        directory = Path(tempfile.mkdtemp(prefix="bench-pool-"))
        services = []
        try:
            for _ in range(processes):
                services.append(start_model_api(directory, args.model, MODEL_N_THREADS=threads, SPEECH_MODEL="none"))
            print(f"\n{label}: {args.users} users × {args.questions} open questions at once …", flush=True)
            result = play(directory, [s.url for s in services], args.users, args.questions)
        finally:
            for service in services:
                service.stop()
        rows.append((label, result))
        for name, (calls, first) in result["endpoints"].items():
            print(f"  {name}: {calls:.0f} answers, mean first token {first:.2f} s")
        if result["errors"]:
            print(f"  {len(result['errors'])} turns without a model answer, e.g. {result['errors'][0]}")
    print(f"\n| {args.model}, {args.users} users × {args.questions} questions | answers/min | p50 s | p95 s | "
          "mean pool wait s | wall s |\n|---|---|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['per_minute']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mean_wait']:.1f} | "
              f"{r['wall_s']:.0f} |")


if __name__ == "__main__":
    main()
