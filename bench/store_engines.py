"""/agent turns and alert hand-out on SQLite and on PostgreSQL, at benchmark size, under gunicorn.

For each engine: a database of --contacts onboarded contacts and --messages messages
(bench/seed_data.py: the SQLite file is cached under /tmp, the PostgreSQL cluster under --pg-dir,
each reused while its sizes match), the backend served as deployed (gunicorn with
deploy/gunicorn/backend.py, gthread workers) on a loopback port, and the model an instant
scripted server in a process of its own (tests/backend/scripted_model.py), so model calls cost
a loopback round trip and nothing else. Then:

1. /agent: --clients processes, each on a keep-alive connection, POST /agent from random contacts
   for --seconds after a warm-up: turns per second, and p50/p95 of the orchestration time the
   backend measures itself without its model calls (as bench/backend_orchestration.py reports it)
   and of the whole request as a client sees it;
2. alert hand-out: --alerts alerts queued (the repository's add_alert, one transaction), then
   --bridges processes claim them through GET /alerts/pending?limit=--limit and acknowledge each
   with POST /alerts/<id>/sent and its lease token, as bridges do, until the queue is empty:
   alerts per second, claim p50/p95, and a check that no alert was handed out twice (no id
   claimed twice, none claimed more than once per the database, every one marked sent);
3. what one statement costs through backend.store.database (a pooled connection per call) over
   the bare driver on one open connection;
4. statements and pooled-connection checkouts per /agent turn and per hand-out, counted in
   process through the Flask test client: the one figure here that the machine's load does not
   move (on PostgreSQL each is a round trip to the server).

PostgreSQL is a cluster of the benchmark's own (tests/databases.py's PostgresCluster, kept in
--pg-dir: Debian's server, a Unix socket, no TCP port, run as the postgres account when root),
started with durable settings (fsync, synchronous_commit and full_page_writes on; the test
server turns them off) unless --pg-test-settings; or an existing database given by
--postgresql-url (it must be empty or one this benchmark seeded). The settings used are printed.
One run at a time holds the cluster (a lock file in --pg-dir; a second run waits for it).
By default PostgreSQL gets two columns, two backends on the same database: synchronous_commit on
(each commit waits for its WAL flush: durable) and off (set per connection; a crash may lose the
last commits, never consistency), the second being what SQLite's WAL with synchronous=NORMAL
promises, so the engines are also compared at equal durability (--pg-synchronous-commit).

    .venv/bin/python bench/store_engines.py [--engine sqlite|postgresql|both] [--quick]
        [--contacts 10000] [--messages 1000000] [--clients 8] [--seconds 30] [--alerts 5000]
        [--bridges 4] [--limit 1] [--workers N] [--rounds 1] [--postgresql-url URL] [--pg-dir DIR]
        [--pg-synchronous-commit on|off|both] [--pg-test-settings]

Both backends stay up for the whole run and the engines take turns, round by round: the machine
is small (2 cores, often shared with other work) and its speed moves by tens of percent from one
minute to the next, so compare the engines within one run, and prefer --rounds 3 (rates are then
the median, with their range; latencies are pooled over the rounds).
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.alerts.repository import add_alert  # noqa: E402
from backend.store.database import open_database, transaction  # noqa: E402
from bench.seed_data import POSTGRESQL_MARKER, is_postgresql, postgresql_marker, seed, sentence  # noqa: E402
from tests.databases import NON_DURABLE, PostgresCluster  # noqa: E402
from tests.servers import RunningService, free_port, service_env  # noqa: E402

TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
# Long enough and new enough to be used as it is (backend/agent/answering.py's usable()): a turn
# then does what a real answer does (source model, its answer cached, the call counted).
MODEL_ANSWER = json.dumps({"role": "consulta", "acciones": {}, "estado": {}, "respuesta_chat":
                           "Conviene regar temprano, revisar las hojas del lote y anotar lo que observe cada semana."},
                          ensure_ascii=False)
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
SERVER_SETTINGS = {"max_connections": "200", "shared_buffers": "256MB"}
SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers",
         "max_connections")
QUICK = {"contacts": 1_000, "messages": 50_000, "seconds": 8, "alerts": 1_000}
FULL = {"contacts": 10_000, "messages": 1_000_000, "seconds": 30, "alerts": 5_000}


# --- PostgreSQL settings -------------------------------------------------------------------------

def with_option(url: str, name: str, value: str) -> str:
    """A libpq URL that sets a server setting for its connections (`options=-c name=value`)."""
    return f"{url}{'&' if '?' in url else '?'}options=-c%20{name}%3D{value}"


def server_settings(url: str) -> dict[str, str]:
    db = open_database(url)
    try:
        return {name: db.execute(f"SHOW {name}").fetchone()[0] for name in SHOWN}
    finally:
        db.close()


# --- the instant model -----------------------------------------------------------------------

def serve_model(urls, stop) -> None:
    from tests.backend.scripted_model import ScriptedModel

    model = ScriptedModel()
    model.default = (200, {"content": MODEL_ANSWER}, {})
    urls.put(model.url)
    while not stop.wait(5):
        model.requests.clear()  # it keeps what it was asked; nobody reads it here
        model.classify_requests.clear()
    model.stop()


# --- the backend, as deployed ----------------------------------------------------------------

def start_backend(location, folder: Path, model_url: str, workers: int | None, label: str) -> RunningService:
    port = free_port()
    database = ({"BACKEND_DATABASE_URL": str(location), "BACKEND_DB_PATH": str(folder / "unused.db")}
                if is_postgresql(location) else {"BACKEND_DATABASE_URL": "", "BACKEND_DB_PATH": str(location)})
    env = service_env(BACKEND_PORT=str(port), BACKEND_TOKEN=TOKEN, MODEL_API_URL=model_url, BACKEND_WARM_UP="0",
                      BACKEND_MODEL_HEALTH_INTERVAL="0", BACKEND_DAILY_MODEL_CALLS="0",
                      BACKEND_DAILY_SECONDARY_MODEL_CALLS="0", BACKEND_PLUGINS="example",
                      CHASQUI_LOG_LEVEL="WARNING", **database)
    if workers:
        env["BACKEND_WORKERS"] = str(workers)
    command = [str(REPO / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn/backend.py", "backend.wsgi:app"]
    server = RunningService(command, env, port, folder / f"backend-{label}.log")
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server


def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=120)


def _call(connection: http.client.HTTPConnection, method: str, path: str, body: dict | None = None):
    """(status, body bytes, ms); a dropped connection is reopened and counts as status 0."""
    started = time.perf_counter()
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=HEADERS)
        response = connection.getresponse()
        data = response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as problem:
        connection.close()
        data, status = repr(problem).encode(), 0
    return status, data, (time.perf_counter() - started) * 1000


# --- 1. /agent ---------------------------------------------------------------------------------

def agent_client(port: int, contacts: int, warmup: int, seconds: float, seed_value: int, barrier, results) -> None:
    connection = _connection(port)
    rng = random.Random(seed_value)

    def turn():
        phone = f"+519{rng.randint(1, contacts):08d}"
        return _call(connection, "POST", "/agent", {"phone": phone, "message": sentence(rng) + "?"})

    for _ in range(warmup):  # the page cache and each worker's pool of connections
        turn()
    barrier.wait()
    connection.close()  # idle while the others warmed up: gunicorn may have closed it (keepalive 5 s)
    whole, orchestration, sources, errors, first_error = [], [], {}, 0, None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, data, ms = turn()
        if status == 200:
            answer = json.loads(data)
            whole.append(ms)
            orchestration.append(answer["timings"]["orchestration_ms"])
            sources[answer["source"]] = sources.get(answer["source"], 0) + 1
        else:
            errors += 1
            first_error = first_error or f"{status} {data[:300].decode(errors='replace')}"
    results.put({"whole": whole, "orchestration": orchestration, "sources": sources, "errors": errors,
                 "first_error": first_error})


def run_agent(port: int, args, round_number: int) -> dict:
    barrier = multiprocessing.Barrier(args.clients + 1)
    results = multiprocessing.Queue()
    clients = [multiprocessing.Process(target=agent_client, args=(
        port, args.contacts, 10, args.seconds, 1000 * round_number + n, barrier, results)) for n in range(args.clients)]
    for client in clients:
        client.start()
    barrier.wait(timeout=600)
    started = time.monotonic()
    collected = [results.get(timeout=args.seconds + 600) for _ in clients]
    elapsed = time.monotonic() - started
    for client in clients:
        client.join()
    merged = {"whole": [], "orchestration": [], "sources": {}, "errors": 0, "first_error": None, "elapsed": elapsed}
    for part in collected:
        merged["whole"] += part["whole"]
        merged["orchestration"] += part["orchestration"]
        for source, count in part["sources"].items():
            merged["sources"][source] = merged["sources"].get(source, 0) + count
        merged["errors"] += part["errors"]
        merged["first_error"] = merged["first_error"] or part["first_error"]
    merged["rate"] = len(merged["whole"]) / elapsed
    return merged


# --- 2. alert hand-out ---------------------------------------------------------------------------

def bridge(port: int, limit: int, deadline_s: float, barrier, results) -> None:
    connection = _connection(port)
    claimed, claim_ms, ack_ms, errors, first_error = [], [], [], 0, None
    barrier.wait()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and errors < 50:
        status, data, ms = _call(connection, "GET", f"/alerts/pending?limit={limit}")
        if status != 200:
            errors += 1
            first_error = first_error or f"GET /alerts/pending: {status} {data[:300].decode(errors='replace')}"
            continue
        alerts = json.loads(data)["alerts"]
        if not alerts:
            break  # the queue is empty (what others hold is theirs to acknowledge)
        claim_ms.append(ms)
        for alert in alerts:
            claimed.append(alert["id"])
            status, data, ms = _call(connection, "POST", f"/alerts/{alert['id']}/sent",
                                     {"lease_token": alert["lease_token"]})
            if status == 200:
                ack_ms.append(ms)
            else:
                errors += 1
                first_error = first_error or f"POST /alerts/…/sent: {status} {data[:300].decode(errors='replace')}"
    results.put({"claimed": claimed, "claim_ms": claim_ms, "ack_ms": ack_ms, "errors": errors,
                 "first_error": first_error})


def queue_alerts(location, count: int, contacts: int) -> float:
    """Empties the alerts table (the benchmark's own database) and queues `count` alerts; seconds taken."""
    db = open_database(location)
    try:
        db.execute("DELETE FROM alerts")
        started = time.perf_counter()
        with transaction(db) as connection:
            for n in range(count):
                add_alert(connection, n % contacts + 1, "Helada esta noche: cubra sus cultivos.", "alta")
        return time.perf_counter() - started
    finally:
        db.close()


def run_alerts(port: int, location, args) -> dict:
    queued_s = queue_alerts(location, args.alerts, args.contacts)
    barrier = multiprocessing.Barrier(args.bridges + 1)
    results = multiprocessing.Queue()
    deadline_s = 600.0
    bridges = [multiprocessing.Process(target=bridge, args=(port, args.limit, deadline_s, barrier, results))
               for _ in range(args.bridges)]
    for process in bridges:
        process.start()
    barrier.wait(timeout=120)
    started = time.monotonic()
    collected = [results.get(timeout=deadline_s + 120) for _ in bridges]
    elapsed = time.monotonic() - started
    for process in bridges:
        process.join()
    claimed = [i for part in collected for i in part["claimed"]]
    db = open_database(location)
    try:
        by_status = dict(db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall())
        claimed_again = db.execute("SELECT COUNT(*) FROM alerts WHERE attempts > 1").fetchone()[0]
    finally:
        db.close()
    acked = sum(len(part["ack_ms"]) for part in collected)
    return {"queued_s": queued_s, "elapsed": elapsed, "acked": acked, "rate": acked / elapsed,
            "claim_ms": [m for part in collected for m in part["claim_ms"]],
            "ack_ms": [m for part in collected for m in part["ack_ms"]],
            "twice": (len(claimed) - len(set(claimed))) + claimed_again,
            "sent": by_status.get("sent", 0), "by_status": by_status,
            "errors": sum(part["errors"] for part in collected),
            "first_error": next((part["first_error"] for part in collected if part["first_error"]), None)}


# --- 3. one statement through the handle -----------------------------------------------------------

def statement_cost(location, repeat: int = 3000) -> tuple[float, float]:
    """Microseconds per `SELECT ?` through Database (a pooled connection each time) and through the
    bare driver on one open connection."""
    db = open_database(location)
    try:
        for _ in range(200):
            db.execute("SELECT ?", (1,)).fetchone()
        started = time.perf_counter()
        for _ in range(repeat):
            db.execute("SELECT ?", (1,)).fetchone()
        handle = (time.perf_counter() - started) / repeat * 1e6
    finally:
        db.close()
    if is_postgresql(location):
        import psycopg

        bare_connection = psycopg.connect(str(location), autocommit=True)
        sql = "SELECT %s"
    else:
        bare_connection = sqlite3.connect(str(location))
        sql = "SELECT ?"
    try:
        for _ in range(200):
            bare_connection.execute(sql, (1,)).fetchone()
        started = time.perf_counter()
        for _ in range(repeat):
            bare_connection.execute(sql, (1,)).fetchone()
        bare = (time.perf_counter() - started) / repeat * 1e6
    finally:
        bare_connection.close()
    return handle, bare


# --- 4. what a turn and a hand-out send to the database ----------------------------------------------

def count_statements(location, model_url: str, args, repeat: int = 20) -> dict:
    """Statements (BEGIN and COMMIT included) and pooled-connection checkouts per /agent turn and
    per claim + acknowledgement, in this process through the Flask test client: figures that the
    machine's load does not move. On PostgreSQL each statement is a round trip to the server, and
    so is each checkout (pool_pre_ping)."""
    import sqlalchemy
    from sqlalchemy import event

    from backend.app import create_app
    from backend.settings import load_settings

    database = ({"database_url": str(location)} if is_postgresql(location) else
                {"database_url": "", "db_path": Path(location)})
    settings = load_settings().with_overrides(token="", model_api_url=model_url, daily_model_calls=0,
                                              daily_secondary_model_calls=0, plugins=("example",), warm_up=False,
                                              model_health_interval_s=0, **database)
    app = create_app(settings)
    logging.getLogger().setLevel(logging.WARNING)
    client = app.test_client()
    rng = random.Random(99)
    counts = {"statements": 0, "checkouts": 0}

    def statement(*_):
        counts["statements"] += 1

    def checkout(*_):
        counts["checkouts"] += 1

    def turn():
        response = client.post("/agent", json={"phone": f"+519{rng.randint(1, args.contacts):08d}",
                                               "message": sentence(rng) + "?"})
        assert response.status_code == 200, response.text

    def hand_out():
        claimed = client.get("/alerts/pending?limit=1")
        assert claimed.status_code == 200 and claimed.json["alerts"], claimed.text
        alert = claimed.json["alerts"][0]
        assert client.post(f"/alerts/{alert['id']}/sent", json={"lease_token": alert["lease_token"]}).status_code == 200

    figures = {}
    queue_alerts(location, repeat + 3, args.contacts)
    for name, action in (("agent", turn), ("alert", hand_out)):
        for _ in range(3):
            action()
        event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", statement)
        event.listen(sqlalchemy.pool.Pool, "checkout", checkout)
        try:
            counts.update(statements=0, checkouts=0)
            for _ in range(repeat):
                action()
            figures[name] = (counts["statements"] / repeat, counts["checkouts"] / repeat)
        finally:
            event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", statement)
            event.remove(sqlalchemy.pool.Pool, "checkout", checkout)
    app.extensions["chasqui_store"].db.close()
    return figures


# --- one engine ----------------------------------------------------------------------------------

def already_seeded(location, contacts: int, messages: int) -> bool:
    if is_postgresql(location):
        db = open_database(location)
        try:
            return postgresql_marker(db) == f"{POSTGRESQL_MARKER} {contacts} {messages}"
        finally:
            db.close()
    marker = Path(location).with_suffix(".seeded")
    return Path(location).exists() and marker.exists() and marker.read_text() == f"{contacts} {messages}"


def prepare_engine(engine: str, location, folder: Path, model_url: str, args) -> dict:
    """Seeded (or reused) and served: the engine's result so far, with its running backend.
    `engine` names the column: sqlite, postgresql, or postgresql-async (synchronous_commit off)."""
    print(f"\n== {engine}: {location}", flush=True)
    reused = already_seeded(location, args.contacts, args.messages)
    started = time.perf_counter()
    location = seed(location, args.contacts, args.messages)
    result = {"engine": engine, "label": "SQLite", "location": location, "model_url": model_url, "args": args, "seeding_s": time.perf_counter() - started, "reused": reused,
              "agent": [], "alerts": []}
    if is_postgresql(location):
        result["settings"] = server_settings(str(location))
        result["label"] = f"PostgreSQL, synchronous_commit={result['settings']['synchronous_commit']}"
        print("  server settings: " + ", ".join(f"{k}={v}" for k, v in result["settings"].items()), flush=True)
    result["server"] = start_backend(location, folder, model_url, args.workers, engine)
    return result


def measure_round(result: dict, args, round_number: int) -> None:
    engine, port = result["engine"], result["server"].port
    agent = run_agent(port, args, round_number)
    result["agent"].append(agent)
    print(f"  {engine} /agent round {round_number}: {len(agent['whole'])} turns in {agent['elapsed']:.1f} s -> "
          f"{agent['rate']:.1f} turns/s, errors {agent['errors']}, sources {agent['sources']}", flush=True)
    if agent["first_error"]:
        print(f"    first error: {agent['first_error']}", flush=True)
    alerts = run_alerts(port, result["location"], args)
    result["alerts"].append(alerts)
    print(f"  {engine} alerts round {round_number}: queued {args.alerts} in {alerts['queued_s']:.1f} s; "
          f"{alerts['acked']} handed out and acknowledged in {alerts['elapsed']:.1f} s -> "
          f"{alerts['rate']:.0f}/s; statuses {alerts['by_status']}, twice {alerts['twice']}, "
          f"errors {alerts['errors']}", flush=True)
    if alerts["first_error"]:
        print(f"    first error: {alerts['first_error']}", flush=True)


def finish_engine(result: dict) -> None:
    """The backend stopped, its log read for errors, the statement cost measured."""
    server = result.pop("server")
    server.stop()
    result["backend_log"] = server.log_path
    result["statement_us"] = statement_cost(result["location"])
    result["statements"] = count_statements(result["location"], result["model_url"], result["args"])
    problems = [line for line in server.log_path.read_text(errors="replace").splitlines()
                if "Traceback" in line or "ERROR" in line or "Error" in line]
    if problems:
        print(f"  {result['engine']} backend log {server.log_path}: {len(problems)} error lines, "
              f"e.g. {problems[0][:300]}", flush=True)
    result["log_errors"] = len(problems)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(results: list[dict], args) -> None:
    print(f"\n{args.contacts:,} contacts, {args.messages:,} messages; gunicorn deploy/gunicorn/backend.py, "
          f"workers {args.workers or f'2 x {os.cpu_count()} cores'}, threads {os.environ.get('BACKEND_THREADS', '4')}; "
          f"{args.clients} /agent clients for {args.seconds:g} s; {args.alerts:,} alerts, {args.bridges} bridges, "
          f"limit={args.limit}; {args.rounds} round(s), rates are the median; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    for result in results:
        if "settings" in result:
            settings = result["settings"]
            print(f"{result['label']}: PostgreSQL {settings['server_version']}, " +
                  ", ".join(f"{k}={v}" for k, v in settings.items() if k != "server_version"))
    if any(r["engine"] == "sqlite" for r in results):
        print("SQLite: WAL, synchronous=NORMAL (backend/store/database.py)")
    rows = {
        "seeding (s)": lambda r: "the same database" if r["engine"] == "postgresql-async" and any(
            o["engine"] == "postgresql" for o in results) else f"{r['seeding_s']:.0f}" + (" (reused)" if r["reused"] else ""),
        "/agent turns/s": lambda r: _rate([a["rate"] for a in r["agent"]], ".1f"),
        "/agent orchestration p50 / p95 (ms, model excluded)": lambda r: _p50_p95(
            [m for a in r["agent"] for m in a["orchestration"]]),
        "/agent whole request p50 / p95 (ms, client side)": lambda r: _p50_p95(
            [m for a in r["agent"] for m in a["whole"]]),
        "/agent errors": lambda r: str(sum(a["errors"] for a in r["agent"])),
        "alerts handed out + acknowledged /s": lambda r: _rate([a["rate"] for a in r["alerts"]], ".0f"),
        "claim (GET /alerts/pending) p50 / p95 (ms)": lambda r: _p50_p95(
            [m for a in r["alerts"] for m in a["claim_ms"]]),
        "acknowledge (POST …/sent) p95 (ms)": lambda r: f"{percentile([m for a in r['alerts'] for m in a['ack_ms']], .95):.1f}",
        "alerts handed out twice / not sent": lambda r: f"{sum(a['twice'] for a in r['alerts'])} / "
                                                        f"{sum(args.alerts - a['sent'] for a in r['alerts'])}",
        "queueing the alerts (s, one transaction)": lambda r: f"{statistics.median(a['queued_s'] for a in r['alerts']):.1f}",
        "statements / pooled connections per /agent turn": lambda r: "{:.1f} / {:.1f}".format(*r["statements"]["agent"]),
        "statements / pooled connections per alert (claim + ack)":
            lambda r: "{:.1f} / {:.1f}".format(*r["statements"]["alert"]),
        "one statement: handle / bare driver (µs)": lambda r: f"{r['statement_us'][0]:.0f} / {r['statement_us'][1]:.0f}",
        "error lines in the backend log": lambda r: str(r["log_errors"]),
    }
    print("\n| | " + " | ".join(r["label"] for r in results) + " |")
    print("|---|" + "---:|" * len(results))
    for label, cell in rows.items():
        print(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")


def _rate(rates: list[float], spec: str) -> str:
    """The median, and the range when there were several rounds."""
    median = format(statistics.median(rates), spec)
    return median if len(rates) == 1 else f"{median} ({format(min(rates), spec)}–{format(max(rates), spec)})"


def _p50_p95(values: list[float]) -> str:
    return f"{percentile(values, .5):.1f} / {percentile(values, .95):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help=f"small sizes for a smoke run: {QUICK}")
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--messages", type=int)
    parser.add_argument("--seconds", type=float, help="how long the /agent clients run, per round")
    parser.add_argument("--alerts", type=int, help="alerts queued, per round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent /agent clients (processes)")
    parser.add_argument("--bridges", type=int, default=4, help="concurrent alert claimers (processes)")
    parser.add_argument("--limit", type=int, default=1, help="alerts claimed per poll (1: the worst case)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the deploy's, 2 x cores)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--sqlite-path", help="the SQLite file (default /tmp/chasqui-bench[-N-M].db, cached; "
                        "the full size shares bench/backend_orchestration.py's)")
    parser.add_argument("--postgresql-url", help="an existing PostgreSQL database (empty, or seeded by this "
                        "benchmark) instead of a cluster of the benchmark's own")
    parser.add_argument("--pg-dir", default="/tmp/chasqui-bench-pg", help="where the benchmark's own cluster lives "
                        "(kept between runs with its seeded databases)")
    parser.add_argument("--pg-synchronous-commit", choices=("on", "off", "both"), default="both",
                        help="on: a commit waits for its WAL to be flushed (the durable setting); off: it does not "
                        "(a crash may lose the last commits but corrupts nothing, like SQLite's WAL with "
                        "synchronous=NORMAL); both: a column for each, on the same database (default)")
    parser.add_argument("--pg-test-settings", action="store_true",
                        help="fsync, synchronous_commit and full_page_writes off, as the test server has them")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    folder = Path(tempfile.mkdtemp(prefix="chasqui-store-engines-"))
    stop_model = multiprocessing.Event()
    urls = multiprocessing.Queue()
    model = multiprocessing.Process(target=serve_model, args=(urls, stop_model), daemon=True)
    model.start()
    postgres: PostgresCluster | None = None
    results: list[dict] = []
    try:
        model_url = urls.get(timeout=60)
        for engine in engines:
            if engine == "sqlite":
                full = (args.contacts, args.messages) == (FULL["contacts"], FULL["messages"])
                location = Path(args.sqlite_path or ("/tmp/chasqui-bench.db" if full else
                                                     f"/tmp/chasqui-bench-{args.contacts}-{args.messages}.db"))
                results.append(prepare_engine(engine, location, folder, model_url, args))
                continue
            if args.postgresql_url:
                location = args.postgresql_url
            else:
                postgres = PostgresCluster(Path(args.pg_dir), {**SERVER_SETTINGS, **(
                    NON_DURABLE if args.pg_test_settings else DURABLE)}, keep=True, say=partial(print, flush=True))
                try:
                    postgres.start()  # initdb the first time; waits while another run holds the cluster
                except TimeoutError as problem:
                    raise SystemExit(f"{problem}; give this one a --pg-dir of its own") from None
                location = postgres.create_database(f"bench_{args.contacts}_{args.messages}", exist_ok=True)
            # The same database, and a backend of its own per commit setting (a libpq option).
            for commit in (("on", "off") if args.pg_synchronous_commit == "both" else (args.pg_synchronous_commit,)):
                url = location if commit == "on" else with_option(location, "synchronous_commit", "off")
                results.append(prepare_engine("postgresql" if commit == "on" else "postgresql-async", url, folder,
                                              model_url, args))
        print(f"\nmeasuring: {args.rounds} round(s), the engines taking turns", flush=True)
        for round_number in range(1, args.rounds + 1):
            for result in results:
                measure_round(result, args, round_number)
        for result in results:
            finish_engine(result)
    finally:
        for result in results:
            if "server" in result:
                result.pop("server").stop()
        if postgres is not None:
            postgres.stop()
        stop_model.set()
        model.join(timeout=15)
    report(results, args)
    print(f"\nbackend logs: {folder}")
    if not any(r["log_errors"] for r in results):
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
