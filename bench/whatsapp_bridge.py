"""WhatsApp bridge benchmarks (issue 4), each printing its figures:

  alerts-latency     time from POST /alert to the provider accepting the message, p50/p95,
                     with the seed's 10 s polling and with the long-poll fast path
  alerts-throughput  alerts per second from the backend's queue into the fake Graph API
                     (target >= 50/s; Meta's default pace is 80 messages/s per number)
  users              50 simulated users writing at once through the whole stack (simulator
                     transport -> bridge -> backend -> model API on a real GGUF): every message
                     answered, none lost or answered twice, reply time p50/p95

The backend runs under gunicorn (deploy/gunicorn/backend.py), the model API as `chasqui
model-api`, the bridge in this process; all on loopback ports.

    .venv/bin/python bench/whatsapp_bridge.py [alerts-latency] [alerts-throughput] [users]
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chasqui.serve import start_server  # noqa: E402
from model_api.catalog import TEST_MODEL  # noqa: E402
from tests.servers import REPO as ROOT, RunningService, free_port, service_env, start_model_api  # noqa: E402
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI  # noqa: E402
from whatsapp_bridge.app import create_app  # noqa: E402
from whatsapp_bridge.settings import load_settings  # noqa: E402
from whatsapp_bridge.transports.cloud import CloudTransport  # noqa: E402
from whatsapp_bridge.transports.simulator import SimulatorTransport  # noqa: E402

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_gunicorn_backend(directory: Path, model_url: str) -> RunningService:
    port = free_port()
    env = service_env(BACKEND_DB_PATH=str(directory / "backend.db"), BACKEND_PORT=str(port), BACKEND_TOKEN=TOKEN,
                      MODEL_API_URL=model_url, CHASQUI_LOG_LEVEL="WARNING")
    server = RunningService([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn/backend.py",
                             "backend.wsgi:app"], env, port, directory / "backend.log")
    server.wait_ready()
    return server


def start_bridge(directory: Path, backend_url: str, transport, **overrides):
    settings = load_settings().with_overrides(backend_url=backend_url, backend_token=TOKEN,
                                              state_path=directory / f"bridge-{time.monotonic_ns()}.db", **overrides)
    app = create_app(settings, transport)
    server, _ = start_server(app, "127.0.0.1", 0)
    return app.extensions["chasqui_bridge"], server, f"http://127.0.0.1:{server.server_port}"


def add_contacts(backend_url: str, phones: list[str]) -> None:
    """Contacts exist once they have written: one message each (onboarding, no model)."""
    for phone in phones:
        requests.post(f"{backend_url}/agent", json={"phone": phone, "message": "Hola"}, headers=AUTH,
                      timeout=10).raise_for_status()


def cloud_settings(graph: FakeGraphAPI, per_second: float = 80.0) -> dict:
    return dict(graph_api_url=graph.base_url, graph_api_version=graph.version,
                whatsapp_access_token=graph.access_token, whatsapp_phone_number_id=graph.phone_number_id,
                whatsapp_app_secret="bench", whatsapp_verify_token="bench", sends_per_second=per_second)


# --- alerts -----------------------------------------------------------------------------------------

def alerts_latency(directory: Path, backend_url: str, polled: int, fast: int) -> None:
    phones = [f"+5197000{index:04d}" for index in range(max(polled, fast))]
    add_contacts(backend_url, phones)
    for label, count, overrides in (("10 s polling (seed)", polled, {"alert_long_poll_s": 0.0, "alert_poll_s": 10.0}),
                                    ("long-poll fast path", fast, {"alert_long_poll_s": 25.0, "alert_poll_s": 10.0})):
        with FakeGraphAPI() as graph:
            settings = {**cloud_settings(graph), **overrides}
            transport = CloudTransport(load_settings().with_overrides(**settings))
            bridge, server, _ = start_bridge(directory, backend_url, transport, **settings)
            time.sleep(1.0)  # the bridge's first poll has happened; alerts now arrive at random moments
            latencies = []
            period = settings["alert_poll_s"] if not settings["alert_long_poll_s"] else 2.0
            for index in range(count):
                # Each alert is created at a different point of the polling cycle (golden-ratio steps
                # spread them evenly), since the previous one was picked up at the start of a cycle.
                time.sleep(0.05 + (index * 0.618034 % 1) * period)
                created = time.monotonic()
                requests.post(f"{backend_url}/alert", headers=AUTH, timeout=10, json={
                    "phone": phones[index], "message": f"Alerta {index}", "level": "alta"}).raise_for_status()
                graph.wait_for(index + 1, kind="message", timeout=30)
                latencies.append(graph.accepted[-1]["time"] - created)
            bridge.stop()
            server.shutdown()
        print(f"alert latency, {label}: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p95 {percentile(latencies, .95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
              f"({count} alerts, creation -> Graph API accepted)", flush=True)


def alerts_throughput(directory: Path, backend_url: str, count: int) -> None:
    phones = [f"+5198000{index:04d}" for index in range(200)]
    add_contacts(backend_url, phones)
    with FakeGraphAPI() as graph:
        settings = cloud_settings(graph)
        transport = CloudTransport(load_settings().with_overrides(**settings))
        for start in range(0, count, 200):
            for phone in phones[: min(200, count - start)]:
                requests.post(f"{backend_url}/alert", headers=AUTH, timeout=10, json={
                    "phone": phone, "message": "Helada esta noche: cubra sus cultivos.", "level": "alta"})
        started = time.monotonic()
        bridge, server, _ = start_bridge(directory, backend_url, transport, alert_long_poll_s=25.0, **settings)
        graph.wait_for(count, kind="message", timeout=count / 10 + 60)
        elapsed = graph.accepted[-1]["time"] - started
        bridge.stop()
        server.shutdown()
        sent = len(graph.messages())
        print(f"alert throughput: {count} alerts in {elapsed:.1f} s -> {count / elapsed:.0f} alerts/s into the fake "
              f"Graph API (target >= 50/s; paced at {settings['sends_per_second']:.0f}/s per number); "
              f"sent {sent}, refused by the fake {len(graph.rejected)}", flush=True)


# --- users ------------------------------------------------------------------------------------------

def users(directory: Path, backend_url: str, count: int) -> None:
    transport = SimulatorTransport()
    bridge, server, url = start_bridge(directory, backend_url, transport, relay_workers=8, holding_after_s=8.0)
    phones = [f"+5199000{index:04d}" for index in range(count)]
    api = f"{url}/simulator/api/messages"

    def conversation_round(text: str, replies_expected: int) -> list[float]:
        sent_at, times, done = {}, {}, threading.Event()

        def send(phone):
            sent_at[phone] = time.monotonic()
            requests.post(api, json={"phone": phone, "text": text}, timeout=30).raise_for_status()

        threads = [threading.Thread(target=send, args=(phone,)) for phone in phones]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 900
        while not done.is_set() and time.monotonic() < deadline:
            for phone in phones:
                replies = [m for m in transport.conversation(phone) if m["from"] == "chasqui" and m["kind"] == "reply"]
                if phone not in times and len(replies) >= replies_expected:
                    times[phone] = replies[replies_expected - 1]["at"] - (time.time() - time.monotonic()) - sent_at[phone]
            done.set() if len(times) == len(phones) else time.sleep(0.1)
        return list(times.values())

    for label, text, expected in (("first message (onboarding, no model)", "Hola", 1), ("name", "Rosa", 2),
                                  ("city", "Cajamarca", 3),
                                  ("a question for the model", "¿Qué notas tengo guardadas?", 4)):
        started = time.monotonic()
        times = conversation_round(text, expected)
        replies = [len([m for m in transport.conversation(p) if m["from"] == "chasqui" and m["kind"] == "reply"])
                   for p in phones]
        print(f"{count} users at once, {label}: answered {len(times)}/{count} in {time.monotonic() - started:.1f} s; "
              f"reply time p50 {statistics.median(times):.1f} s, p95 {percentile(times, .95):.1f} s; "
              f"replies per user now {min(replies)}-{max(replies)} (expected {expected}: none lost or doubled); "
              f"answered by: {reply_sources(directory, started)}", flush=True)
    print(f"inbox: {bridge.inbox.counts()}", flush=True)
    bridge.stop()
    server.shutdown()


def reply_sources(directory: Path, since_monotonic: float) -> dict:
    """Where the backend's replies of this round came from (model, apology, onboarding...)."""
    since = time.time() - (time.monotonic() - since_monotonic)
    with sqlite3.connect(directory / "backend.db") as connection:
        return dict(connection.execute("SELECT source, COUNT(*) FROM messages WHERE direction = 'out' AND "
                                       "created_at >= ? GROUP BY source", (since,)).fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["alerts-latency", "alerts-throughput", "users"])
    parser.add_argument("--polled", type=int, default=10, help="alerts timed with 10 s polling")
    parser.add_argument("--fast", type=int, default=40, help="alerts timed with the long-poll fast path")
    parser.add_argument("--alerts", type=int, default=1000, help="alerts for the throughput run")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--model", default=TEST_MODEL, help="catalog model for the users run (default: the small "
                        "test model; the embedded default answers slower and then some users get the apology)")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="chasqui-bridge-bench-"))
    model = start_model_api(directory, args.model) if "users" in args.parts else None
    backend = start_gunicorn_backend(directory, model.url if model else "http://127.0.0.1:9")
    try:
        if "alerts-latency" in args.parts:
            alerts_latency(directory, backend.url, args.polled, args.fast)
        if "alerts-throughput" in args.parts:
            alerts_throughput(directory, backend.url, args.alerts)
        if "users" in args.parts:
            print(f"model API: {args.model} (real inference, 2 threads)", flush=True)
            users(directory, backend.url, args.users)
    finally:
        backend.stop()
        if model:
            model.stop()


if __name__ == "__main__":
    main()
