"""/agent orchestration time, the model call excluded, on a database of benchmark size.

10,000 contacts and 1,000,000 messages (bench/seed_data.py, cached under /tmp). Each request is
a real POST /agent (Flask test client, no network) from a random contact; the model is a scripted
server on loopback that answers at once, and the orchestrator measures its own time without the
model call. Prints p50/p95/p99; the target is p95 <= 15 ms.

    .venv/bin/python bench/backend_orchestration.py [--requests 2000]
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.seed_data import seed, sentence  # noqa: E402
from backend.app import create_app  # noqa: E402
from backend.settings import load_settings  # noqa: E402
from tests.backend.scripted_model import ScriptedModel  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--db", default="/tmp/chasqui-bench.db")
    args = parser.parse_args()
    path = seed(Path(args.db), args.contacts, args.messages)

    model = ScriptedModel()
    # Long enough to be used: the backend takes an answer of under 12 characters for no answer.
    answer = '{"role": "consulta", "respuesta_chat": "Riegue el lote mañana temprano.", "acciones": {}, "estado": {}}'
    model.default = (200, {"content": answer}, {})
    settings = load_settings().with_overrides(db_path=path, token="", model_api_url=model.url,
                                              daily_model_calls=0, daily_secondary_model_calls=0,
                                              plugins=("example",))
    app = create_app(settings)
    client = app.test_client()
    rng = random.Random(11)
    orchestration, whole = [], []
    logging.getLogger().setLevel(logging.WARNING)  # a JSON log line per request would be measured too
    for n in range(args.requests + 100):
        phone = f"+519{rng.randint(1, args.contacts):08d}"
        started = time.perf_counter()
        response = client.post("/agent", json={"phone": phone, "message": sentence(rng) + "?"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response.json["source"] == "model", response.json
        if n >= 100:  # the first 100 warm the page cache
            whole.append(elapsed * 1000)
            orchestration.append(response.json["timings"]["orchestration_ms"])
    model.stop()
    print(f"{args.contacts:,} contacts, {args.messages:,} messages, {args.requests} requests")
    print(f"orchestration (model call excluded): p50 {percentile(orchestration, .5):.2f} ms, "
          f"p95 {percentile(orchestration, .95):.2f} ms, p99 {percentile(orchestration, .99):.2f} ms"
          f"   (target p95 <= 15 ms)")
    print(f"whole /agent request incl. the loopback model call: p50 {statistics.median(whole):.2f} ms, "
          f"p95 {percentile(whole, .95):.2f} ms")


if __name__ == "__main__":
    main()
