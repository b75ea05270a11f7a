"""Alert hand-out throughput under gunicorn: GET /alerts/pending + POST /alerts/<id>/sent pairs
per second, as bridges do it, on this machine (target >= 500 pairs/s on 2 cores).

Queues --alerts alerts in a fresh database, serves the backend with deploy/gunicorn/backend.py on
a loopback port, and runs --clients processes (keep-alive connections), each claiming one alert
at a time (limit=1, the worst case) and acknowledging it with its lease token, for --seconds.

    .venv/bin/python bench/alerts_throughput.py [--clients 4] [--seconds 10] [--limit 1] [--rounds 3]
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.alerts.repository import create_broadcast  # noqa: E402
from backend.store.database import open_database  # noqa: E402
from bench.seed_data import seed  # noqa: E402
from tests.servers import REPO as ROOT, RunningService, free_port, service_env  # noqa: E402

TOKEN = "bench-token"


def bridge(port: int, seconds: float, limit: int, results) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    pairs, latencies = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection.request("GET", f"/alerts/pending?limit={limit}", headers=headers)
        alerts = json.loads(connection.getresponse().read())["alerts"]
        if not alerts:
            break
        for alert in alerts:
            connection.request("POST", f"/alerts/{alert['id']}/sent", headers=headers,
                               body=json.dumps({"lease_token": alert["lease_token"]}))
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            pairs += 1
        latencies.append((time.perf_counter() - started) * 1000 / len(alerts))
    results.put((pairs, latencies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=60_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--limit", type=int, default=1, help="alerts claimed per poll")
    parser.add_argument("--rounds", type=int, default=3, help="runs against the same server; the median is "
                        "reported, since this shared machine's speed varies by 2x from minute to minute")
    parser.add_argument("--dir", default=None, help="where the database goes (default: the temp dir; "
                        "/dev/shm takes the disk out of the figure)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="chasqui-alerts-bench-", dir=args.dir))
    path = seed(directory / "alerts.db", 1000, 0)
    db = open_database(path)
    for _ in range(args.alerts // 1000):
        create_broadcast(db, "Helada esta noche: cubra sus cultivos.", "alta", domain="example")
    port = free_port()
    env = service_env(BACKEND_DB_PATH=str(path), BACKEND_PORT=str(port), BACKEND_TOKEN=TOKEN,
                      MODEL_API_URL="http://127.0.0.1:9", CHASQUI_LOG_LEVEL="WARNING")
    gunicorn = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn/backend.py", "backend.wsgi:app"]
    server = RunningService(gunicorn, env, port, directory / "gunicorn.log")
    try:
        server.wait_ready()
        rates, pairs, latencies = [], 0, []
        for round_number in range(1, args.rounds + 1):
            round_pairs, round_latencies, elapsed = run_round(port, args)
            rates.append(round_pairs / elapsed)
            pairs += round_pairs
            latencies += round_latencies
            print(f"round {round_number}: {round_pairs} pairs in {elapsed:.1f} s -> {rates[-1]:.0f} pairs/s")
    finally:
        server.stop()
    latencies.sort()
    sent = db.execute("SELECT COUNT(*) FROM alerts WHERE status = 'sent'").fetchone()[0]
    print(f"{args.clients} bridge processes, limit={args.limit}, gunicorn deploy/gunicorn/backend.py "
          f"({server_layout(env)})")
    print(f"median {statistics.median(rates):.0f} pairs/s over {args.rounds} rounds "
          f"(range {min(rates):.0f}-{max(rates):.0f}; target >= 500); alerts marked sent: {sent}; "
          f"acknowledged twice: {pairs - sent}")
    print(f"per-alert time seen by a bridge: p50 {statistics.median(latencies):.1f} ms, "
          f"p95 {latencies[int(.95 * len(latencies))]:.1f} ms")


def run_round(port: int, args) -> tuple[int, list[float], float]:
    results = multiprocessing.Queue()
    clients = [multiprocessing.Process(target=bridge, args=(port, args.seconds, args.limit, results))
               for _ in range(args.clients)]
    started = time.monotonic()
    for client in clients:
        client.start()
    collected = [results.get(timeout=args.seconds + 60) for _ in clients]
    elapsed = time.monotonic() - started
    for client in clients:
        client.join()
    return sum(p for p, _ in collected), [l for _, ls in collected for l in ls], elapsed


def server_layout(env: dict) -> str:
    workers = env.get("BACKEND_WORKERS", f"2 x {os.cpu_count()} cores")
    return f"workers {workers}, threads {env.get('BACKEND_THREADS', '4')}"


if __name__ == "__main__":
    main()
