"""The panel's lists at scale: every list's first page, a deep page, each search and filter, timed
through the Flask test client (signed in, templates rendered) on a store of 10,000 contacts and
1,000,000 messages (plus 100,000 alerts, 50,000 audit entries, 5,000 failures, 2,000 voice notes,
500 knowledge entries).

    .venv/bin/python bench/admin_lists.py [--contacts 10000] [--messages 1000000] [--runs 5] [--keep PATH]

The store is built in a temporary file through the real migrations; messages go in with the FTS
insert trigger dropped and the index rebuilt once at the end ('rebuild'), then the trigger is put
back (~1 min on 2 cores). Messages are interleaved across contacts in time order, as they arrive.
--keep PATH keeps (and reuses) the file. Prints a markdown table: the median of --runs requests
after one warm-up, and the page's size; then the raw SQL of the designs the panel does not use
(OFFSET paging, the old GROUP BY for the conversations list), for comparison.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from admin.users import create_user  # noqa: E402
from backend.store.database import open_database, transaction  # noqa: E402
from backend.store.migrations import migrate  # noqa: E402
from bench.seed_data import sentence  # noqa: E402

USERNAME, PASSWORD = "bench", "una clave de bench larga"
DOMAINS = ("agro", "running", "example")
RARE_WORD = "quinua"  # in 1 message of 10,000: a search with few hits
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def build(path: Path, contacts: int, messages: int) -> None:
    marker = path.with_suffix(".built")
    if path.exists() and marker.exists() and marker.read_text() == f"{contacts} {messages}":
        print(f"reusing {path}", flush=True)
        return
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), marker):
        leftover.unlink(missing_ok=True)
    started, rng = time.time(), random.Random(7)
    db = open_database(path)
    migrate(db)
    start = time.time() - 90 * 86400
    with transaction(db) as connection:
        connection.executemany(
            "INSERT INTO contacts (id, phone, name, domain, opted_out, onboarding_step, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, f"+519{i:08d}", f"Usuario {i} Pérez" if i % 3 else f"Lucía {i}", DOMAINS[i % 3],
              int(i % 50 == 0), "nombre" if i % 20 == 0 else None, start + i, start + i)
             for i in range(1, contacts + 1)])
        connection.executemany("INSERT INTO profiles (contact_id, domain, data, updated_at) VALUES (?, ?, '{}', ?)",
                               [(i, DOMAINS[i % 3], start) for i in range(1, contacts + 1)])
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts_insert'").fetchone()[0]
    db.execute("DROP TRIGGER messages_fts_insert")
    step = 90 * 86400 / messages
    batch = []
    for n in range(messages):
        body = sentence(rng) + (f" {RARE_WORD}" if n % 10_000 == 0 else "")
        batch.append((rng.randint(1, contacts), "in" if n % 2 == 0 else "out", body,
                      None if n % 2 == 0 else "model", start + n * step))
        if len(batch) == 200_000 or n == messages - 1:
            with transaction(db) as connection:
                connection.executemany("INSERT INTO messages (contact_id, direction, body, source, created_at) "
                                       "VALUES (?, ?, ?, ?, ?)", batch)
            batch.clear()
            print(f"\r  {n + 1:,} messages ({time.time() - started:.0f} s)", end="", flush=True)
    print("\n  rebuilding the full-text index", flush=True)
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    db.execute(trigger)
    levels, statuses, kinds = ("baja", "media", "alta"), ("pending", "claimed", "sent", "failed"), \
        ("alert", "alert", "alert", "reply", "notice")
    with transaction(db) as connection:
        connection.executemany(
            "INSERT INTO alerts (contact_id, message, level, status, next_attempt_at, created_at, kind, "
            "delivery_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(rng.randint(1, contacts), sentence(rng), levels[i % 3], statuses[i % 4] if i % 100 else "failed",
              start + i, start + i * 70, kinds[i % 5], ("read", "delivered", None)[i % 3])
             for i in range(100_000)])
        connection.executemany(
            "INSERT INTO audit_log (officer, action, target, contact_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(f"officer{i % 7}", ("alert", "reply", "take_over", "hand_back", "edit_form")[i % 5], f"contact {i}",
              rng.randint(1, contacts), None, start + i * 100) for i in range(50_000)])
        connection.executemany(
            "INSERT INTO failures (kind, source, subject, contact_id, error, times, first_at, last_at) "
            "VALUES (?, ?, ?, ?, 'ValueError: bench', 1, ?, ?)",
            [(("message", "job")[i % 2], "/agent", f"wamid.{i}", rng.randint(1, contacts), start + i,
              start + rng.random() * 90 * 86400) for i in range(5_000)])
        connection.executemany(
            "INSERT INTO voice_notes (wa_message_id, phone, contact_id, mime_type, audio, bytes, transcript, "
            "created_at) VALUES (?, ?, ?, 'audio/ogg', ?, 1000, ?, ?)",
            [(f"wamid.v{i}", f"+519{i:08d}", i % contacts + 1, b"\0" * 1000, sentence(rng), start + i * 3000)
             for i in range(2_000)])
        connection.executemany("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (?, ?, ?, 'bench', ?)",
                               [(DOMAINS[i % 3], f"Entrada {i}", sentence(rng) * 5, start + i) for i in range(500)])
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    marker.write_text(f"{contacts} {messages}")
    print(f"  built in {time.time() - started:.0f} s: {path.stat().st_size / 1e6:.0f} MB", flush=True)


def signed_in_client(path: Path):
    os.environ.setdefault("CHASQUI_LOG_LEVEL", "WARNING")  # the table, not a log line per request
    from backend.app import create_app
    from backend.settings import load_settings

    settings = load_settings().with_overrides(db_path=path, token="", plugins=("example",), warm_up=False,
                                              model_api_url="http://127.0.0.1:9", secondary_model_api_url="")
    app = create_app(settings)
    db = app.extensions["chasqui_store"].db
    if not db.execute("SELECT 1 FROM admin_users WHERE username = ?", (USERNAME,)).fetchone():
        create_user(db, USERNAME, PASSWORD)
    client = app.test_client()
    token = _CSRF.search(client.get("/admin/login").text).group(1)
    assert client.post("/admin/login", data={"username": USERNAME, "password": PASSWORD,
                                              "csrf_token": token}).status_code == 302
    return client, db


def cases(db, contacts: int) -> list[tuple[str, str]]:
    busy = db.execute("SELECT contact_id FROM messages ORDER BY id DESC LIMIT 1").fetchone()[0]
    early_message = db.execute("SELECT id FROM messages WHERE contact_id = ? ORDER BY id LIMIT 1 OFFSET 10",
                               (busy,)).fetchone()[0]
    last_page = -(-contacts // 50)
    return [
        ("contacts: first page", "/admin/contacts/"),
        ("contacts: deep page (before=60)", "/admin/contacts/?before=60"),
        ("contacts: oldest page", "/admin/contacts/?oldest=1"),
        ("contacts: search name 'lucia' (accents folded)", "/admin/contacts/?q=lucia"),
        ("contacts: search phone '9000 0123'", "/admin/contacts/?q=9000+0123"),
        ("contacts: search, no match", "/admin/contacts/?q=zzzz"),
        ("contacts: domain=running", "/admin/contacts/?domain=running"),
        ("contacts: onboarding pending + opted out", "/admin/contacts/?onboarding=pending&opted_out=yes"),
        ("conversations: first page", "/admin/conversations/"),
        (f"conversations: last page ({last_page})", f"/admin/conversations/?page={last_page}"),
        ("conversations: search 'lucia'", "/admin/conversations/?q=lucia"),
        ("conversation: newest messages", f"/admin/conversations/?contact={busy}"),
        ("conversation: oldest messages", f"/admin/conversations/?contact={busy}&oldest=1"),
        ("conversation: older (before=cursor)", f"/admin/conversations/?contact={busy}&before={early_message}"),
        ("conversation: search 'maiz'", f"/admin/conversations/?contact={busy}&q=maiz"),
        ("all messages: search 'maiz' (~20% of rows)", "/admin/conversations/search?q=maiz"),
        ("all messages: search 'riego helada'", "/admin/conversations/search?q=riego+helada"),
        ("all messages: search prefix 'rieg*'", "/admin/conversations/search?q=rieg*"),
        (f"all messages: search rare '{RARE_WORD}'", f"/admin/conversations/search?q={RARE_WORD}"),
        ("all messages: 'maiz', deep (before=5000)", "/admin/conversations/search?q=maiz&before=5000"),
        ("all messages: no match", "/admin/conversations/search?q=zzzzzz"),
        ("alerts: first page", "/admin/alerts/"),
        ("alerts: deep page (before=200)", "/admin/alerts/?before=200"),
        ("alerts: status=failed", "/admin/alerts/?status=failed"),
        ("alerts: level=alta kind=reply delivery=read", "/admin/alerts/?level=alta&kind=reply&delivery=read"),
        ("alerts: search 'helada'", "/admin/alerts/?q=helada"),
        ("alerts: search, no match", "/admin/alerts/?q=zzzz"),
        ("audit: first page", "/admin/audit/"),
        ("audit: officer=officer3", "/admin/audit/?officer=officer3"),
        ("audit: officer + action, deep", "/admin/audit/?officer=officer3&action=reply&before=1000"),
        ("audit: officer nobody (no match)", "/admin/audit/?officer=nobody"),
        ("failures: first page", "/admin/failures/"),
        ("failures: kind=job, deep", "/admin/failures/?kind=job&oldest=1"),
        ("voice notes: first page", "/admin/voice-notes/"),
        ("voice notes: oldest page", "/admin/voice-notes/?oldest=1"),
        ("knowledge: first page", "/admin/knowledge/"),
        ("knowledge: search 'maiz'", "/admin/knowledge/?q=maiz"),
        ("forms", "/admin/forms/"),
        ("accounts", "/admin/users/"),
        ("inbox: open conversations", "/admin/inbox/"),
        ("inbox: returned, deep", "/admin/inbox/?status=returned&before=2000"),
        ("inbox: one conversation", f"/admin/inbox/{db.execute('SELECT MAX(id) FROM takeovers').fetchone()[0]}"),
        ("ratings: bad, to review", "/admin/ratings/"),
        ("ratings: good, deep", "/admin/ratings/?value=good&review=&before=10000"),
    ]


def desk_rows(db, contacts: int) -> None:
    """The officer's desk at a busy deployment's size, added once to a (cached) bench database:
    3,000 takeovers (200 open) and 20,000 ratings on replies."""
    if db.execute("SELECT COUNT(*) FROM takeovers").fetchone()[0]:
        return
    rng = random.Random(15)
    with transaction(db) as connection:
        statuses = ["returned"] * 2800 + ["waiting"] * 100 + ["taken"] * 100
        connection.executemany(
            "INSERT INTO takeovers (contact_id, reason, status, officer, requested_at, last_activity_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(i % contacts + 1, ("asked", "not_understood", "bad_rating")[i % 3], status,
              None if status == "waiting" else f"officer{i % 7}", time.time() - (3000 - i) * 600, time.time())
             for i, status in enumerate(statuses)])
        replies = [row[0] for row in connection.execute(
            "SELECT id FROM messages WHERE direction = 'out' ORDER BY id DESC LIMIT 20000")]
        connection.executemany(
            "INSERT INTO ratings (contact_id, message_id, value, via, emoji, reply_source, question, created_at) "
            "SELECT contact_id, id, ?, 'reaction', ?, source, 'pregunta', created_at FROM messages WHERE id = ?",
            [((-1, 1)[rng.random() < 0.7], "👍", reply) for reply in replies])


def timed(run, runs: int) -> float:
    run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the database here (reused when it matches)")
    args = parser.parse_args()
    scratch = None if args.keep else tempfile.TemporaryDirectory(prefix="chasqui-admin-bench-")
    path = args.keep or Path(scratch.name) / "chasqui.db"
    build(path, args.contacts, args.messages)
    client, db = signed_in_client(path)
    desk_rows(db, args.contacts)
    print(f"\n{args.contacts:,} contacts, {args.messages:,} messages; median of {args.runs} runs\n")
    print("| page | ms | status | KB |\n|---|---:|---:|---:|")
    slowest = 0.0
    for label, url in cases(db, args.contacts):
        response = client.get(url)
        ms = timed(lambda: client.get(url), args.runs)
        slowest = max(slowest, ms)
        print(f"| {label} | {ms:.1f} | {response.status_code} | {len(response.data) / 1024:.0f} |", flush=True)
    print("\nFor comparison, the SQL alone of what the panel does not do:\n")
    print("| query | ms |\n|---|---:|")
    for label, sql in [
        ("messages OFFSET 900,000 LIMIT 51", "SELECT id FROM messages ORDER BY id DESC LIMIT 51 OFFSET 900000"),
        ("messages keyset id < 100,000 LIMIT 51", "SELECT id FROM messages WHERE id < 100000 ORDER BY id DESC LIMIT 51"),
        ("COUNT(*) messages", "SELECT COUNT(*) FROM messages"),
        ("old conversations list: GROUP BY over all messages",
         "SELECT c.id, COUNT(m.id), MAX(m.created_at) AS last_at FROM contacts c LEFT JOIN messages m "
         "ON m.contact_id = c.id GROUP BY c.id ORDER BY last_at IS NULL, last_at DESC, c.id DESC LIMIT 1000"),
        ("new conversations list: MAX per contact, sorted, LIMIT 51",
         "SELECT c.id, (SELECT MAX(created_at) FROM messages m WHERE m.contact_id = c.id) AS last_at FROM contacts c "
         "ORDER BY last_at IS NULL, last_at DESC, c.id DESC LIMIT 51"),
    ]:
        print(f"| {label} | {timed(lambda: db.execute(sql).fetchall(), 3):.1f} |", flush=True)
    print(f"\nslowest page: {slowest:.0f} ms")
    if scratch:
        scratch.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
