"""The dashboard's figures at benchmark scale: how long each takes, the whole page's JSON, and a
/metrics scrape's stats collector.

Builds a temporary SQLite file through the real migrations: 10,000 contacts in three domains
(created over the past year, some still onboarding), 1,000,000 messages over the past 60 days
(each inbound message answered 1 to 60 s later, from a realistic mix of sources, a few officers'
replies that answer nothing), 20,000 ratings, 50,000 alerts with delivery statuses and 300 open
takeovers. The messages' full-text trigger is dropped while seeding (the dashboard never reads
the index; the FTS insert would be most of the seeding time). Then it times each figure for the
last 30 days, all of them together (what a page or a GET /stats costs), the JSON encoding, and
the collector; each timing is the median of --repeat runs after one warm-up run.

    .venv/bin/python bench/dashboard.py [--contacts 10000] [--messages 1000000] [--days 30] [--keep PATH]
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend import dashboard  # noqa: E402
from backend.dashboard_period import Period, deployment_zone, today  # noqa: E402
from backend.stats_metrics import current_figures  # noqa: E402
from backend.store.database import open_database, transaction  # noqa: E402
from backend.store.migrations import migrate  # noqa: E402

DOMAINS = ("agro", "running", "example")
SOURCES = (("model", 40), ("code", 20), ("action", 8), ("cache", 10), ("knowledge", 5), ("apology", 4),
           ("quota", 2), ("onboarding", 6), ("secondary", 3), ("opt-out", 1))


def seed(path: Path, contacts: int, messages: int, rng: random.Random) -> None:
    db = open_database(path)
    migrate(db)
    db.execute("DROP TRIGGER messages_fts_insert")
    now = time.time()
    with transaction(db) as connection:
        connection.executemany(
            "INSERT INTO contacts (id, phone, name, domain, onboarding_step, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, f"+519{i:08d}", f"Usuario {i}", rng.choice(DOMAINS) if rng.random() > 0.02 else None,
              rng.choice((None, None, None, None, "later:cultivo", "nombre")), now - rng.random() * 365 * 86400, now)
             for i in range(1, contacts + 1)])
    names, weights = zip(*SOURCES)
    started, message_id, batch = time.time(), 0, []
    span = 60 * 86400
    for pair in range(messages // 2):
        contact = rng.randint(1, contacts)
        asked = now - span + (pair / (messages // 2)) * span
        message_id += 2
        if rng.random() < 0.01:  # an officer's reply: it answers no message
            batch.append((message_id - 1, contact, "in", "hola", None, None, asked))
            batch.append((message_id, contact, "out", "le atiendo", "officer", None, asked + rng.uniform(30, 600)))
        else:
            batch.append((message_id - 1, contact, "in", "¿cuándo riego?", None, None, asked))
            batch.append((message_id, contact, "out", "el jueves", rng.choices(names, weights)[0], message_id - 1,
                          asked + rng.uniform(1, 60)))
        if len(batch) >= 200_000:
            _insert_messages(db, batch)
            print(f"\r  seeded {message_id:,} messages ({time.time() - started:.0f} s)", end="", flush=True)
    _insert_messages(db, batch)
    print(f"\r  seeded {message_id:,} messages ({time.time() - started:.0f} s)", flush=True)
    with transaction(db) as connection:
        rated = rng.sample(range(2, message_id + 1, 2), min(20_000, message_id // 2))
        connection.executemany(
            "INSERT INTO ratings (contact_id, message_id, value, via, created_at) "
            "SELECT contact_id, id, ?, 'reaction', created_at + 120 FROM messages WHERE id = ?",
            [(rng.choice((1, 1, 1, -1)), m) for m in rated])
        statuses = (("sent", "read"), ("sent", "delivered"), ("sent", "sent"), ("sent", "failed"), ("failed", None),
                    ("pending", None))
        connection.executemany(
            "INSERT INTO alerts (contact_id, message, level, status, delivery_status, next_attempt_at, created_at) "
            "VALUES (?, 'Helada esta noche', 'alta', ?, ?, ?, ?)",
            [(rng.randint(1, contacts), *rng.choice(statuses), at, at)
             for at in (now - rng.random() * span for _ in range(50_000))])
        connection.executemany(
            "INSERT INTO takeovers (contact_id, reason, status, requested_at, last_activity_at) VALUES (?, 'asked', ?, ?, ?)",
            [(c, rng.choice(("waiting", "taken")), now - 600, now - 600) for c in rng.sample(range(1, contacts + 1), 300)])
    db.execute("ANALYZE")
    db.close()


def _insert_messages(db, batch: list) -> None:
    with transaction(db) as connection:
        connection.executemany("INSERT INTO messages (id, contact_id, direction, body, source, in_reply_to, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    batch.clear()


def timed(function, repeat: int) -> tuple[float, object]:
    result = function()  # warm-up: the page cache holds the file, as on a server that is in use
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="build the file here (or reuse it if it is there) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chasqui-dashboard-bench-") as scratch:
        path = Path(args.keep) if args.keep else Path(scratch) / "dashboard.db"
        if not path.exists():
            seed(path, args.contacts, args.messages, random.Random(5))
        db = open_database(path)
        zone = deployment_zone()
        last = today(zone)
        everyone = Period(last - timedelta(args.days - 1), last, None, zone)
        one_domain = Period(everyone.first, last, "agro", zone)
        print(f"{args.contacts:,} contacts, {db.execute('SELECT COUNT(*) FROM messages').fetchone()[0]:,} messages, "
              f"last {args.days} days ({zone.key}); median of {args.repeat} runs, ms")
        print("| figure | all domains | domain=agro |\n|---|---:|---:|")
        for name in ("messages_per_day", "active_users", "new_users", "replies", "ratings", "alerts",
                     "open_takeovers"):
            function = getattr(dashboard, name)
            cells = [timed(lambda p=period: function(db, p), args.repeat)[0] for period in (everyone, one_domain)]
            print(f"| {name} | {cells[0]:.1f} | {cells[1]:.1f} |")
        for label, period in (("all domains", everyone), ("domain=agro", one_domain)):
            whole, figures = timed(lambda p=period: dashboard.figures(db, p), args.repeat)
            encoded, text = timed(lambda f=figures: json.dumps(f), args.repeat)
            print(f"whole page's figures, {label}: {whole:.1f} ms, JSON encoding {encoded:.1f} ms, {len(text):,} bytes")
        scrape, _ = timed(lambda: current_figures(db), args.repeat)
        print(f"/metrics stats collector (uncached): {scrape:.1f} ms")


if __name__ == "__main__":
    main()
