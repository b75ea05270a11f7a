"""A backend database at benchmark scale: N onboarded contacts and M messages spread over the past
60 days, written through the real schema (FTS triggers included). Reused when it already exists.

`seed(location, …)` takes a SQLite path or a `postgresql://…` URL; both engines get the same rows
from the same random sequence. On SQLite the rows go in through executemany in 100k-row
transactions and the file is reused when its `.seeded` marker names the same sizes. On PostgreSQL
they go in through COPY in one transaction, with the messages' secondary indexes (its full-text
GIN index among them) dropped first and built again from their own definitions after the load,
which is what makes a million rows take a minute rather than ten; the database's comment is the
marker (`chasqui-bench N M`), and a database that holds anything else is never reset."""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.store.database import open_database, transaction  # noqa: E402
from backend.store.migrations import migrate  # noqa: E402

WORDS = ("maíz papa riego lluvia helada gusano cogollero hoja mancha lote chacra agua suelo semilla cosecha "
         "abono plaga rodilla tobillo correr ritmo kilómetros tempo fondo cansado lesión carrera plan semana "
         "mañana hoy ayer noche tarde bien mal duele siento quiero puedo tengo hice corrí regué vi").split()
POSTGRESQL_MARKER = "chasqui-bench"


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))


def is_postgresql(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://", "postgresql+"))


def seed(path: Path | str, contacts: int, messages: int, seed_value: int = 7) -> Path | str:
    """The seeded database's location: `path` itself (a SQLite file or a PostgreSQL URL)."""
    if is_postgresql(path):
        return _seed_postgresql(str(path), contacts, messages, seed_value)
    path = Path(path)
    marker = path.with_suffix(".seeded")
    if path.exists() and marker.exists() and marker.read_text() == f"{contacts} {messages}":
        print(f"reusing {path} ({contacts} contacts, {messages} messages)", flush=True)
        return path
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), marker):
        leftover.unlink(missing_ok=True)
    rng = random.Random(seed_value)
    db = open_database(path)
    migrate(db)
    started = time.time()
    now = time.time()
    with transaction(db) as connection:
        connection.executemany(
            "INSERT INTO contacts (id, phone, name, domain, onboarding_step, created_at, updated_at) "
            "VALUES (?, ?, ?, 'example', NULL, ?, ?)", _contact_rows(contacts, now))
        connection.executemany(
            "INSERT INTO profiles (contact_id, domain, data, updated_at) VALUES (?, 'example', ?, ?)",
            list(_profile_rows(rng, contacts, now)))
    batch = []
    for contact, row in _message_rows(rng, contacts, messages, now):
        batch.append(row)
        if len(batch) >= 100_000:
            _insert_sqlite_messages(db, batch)
            print(f"\r  seeded {contact * (messages // contacts):,} messages ({time.time() - started:.0f} s)",
                  end="", flush=True)
    _insert_sqlite_messages(db, batch)
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
    db.execute("ANALYZE")
    print(f"\r  seeded {messages // contacts * contacts:,} messages ({time.time() - started:.0f} s)", flush=True)
    marker.write_text(f"{contacts} {messages}")
    db.close()
    return path


def _contact_rows(contacts: int, now: float) -> list[tuple]:
    return [(i, f"+519{i:08d}", f"Usuario {i}", now, now) for i in range(1, contacts + 1)]


def _profile_rows(rng: random.Random, contacts: int, now: float) -> Iterator[tuple]:
    for i in range(1, contacts + 1):
        yield i, json.dumps({"ciudad": rng.choice(["Cajamarca", "Cusco", "Piura", "Lima"])}), now


def _message_rows(rng: random.Random, contacts: int, messages: int, now: float) -> Iterator[tuple[int, tuple]]:
    """(contact, (contact_id, direction, body, created_at)): each contact's messages in time order,
    alternating in and out, over the past 60 days."""
    per_contact = messages // contacts
    for contact in range(1, contacts + 1):
        for n in range(per_contact):
            created = now - 60 * 86400 + (n / per_contact) * 60 * 86400
            yield contact, (contact, "in" if n % 2 == 0 else "out", sentence(rng), created)


def _insert_sqlite_messages(db, batch: list) -> None:
    if batch:
        with transaction(db) as connection:
            connection.executemany("INSERT INTO messages (contact_id, direction, body, created_at) "
                                   "VALUES (?, ?, ?, ?)", batch)
    batch.clear()


# --- PostgreSQL ---------------------------------------------------------------------------------

def postgresql_marker(db) -> str | None:
    """The comment a seeded database carries (`chasqui-bench N M`), or None."""
    row = db.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                     "WHERE datname = current_database()").fetchone()
    return row[0] if row else None


def _seed_postgresql(url: str, contacts: int, messages: int, seed_value: int) -> str:
    wanted = f"{POSTGRESQL_MARKER} {contacts} {messages}"
    db = open_database(url)
    try:
        marker = postgresql_marker(db)
        if marker == wanted:
            print(f"reusing {db.url} ({contacts} contacts, {messages} messages)", flush=True)
            return url
        _reset_postgresql(db, marker)
        migrate(db)
        started = time.time()
        _copy_postgresql(db, random.Random(seed_value), contacts, messages, started)
        for table in ("contacts", "profiles", "messages"):
            db.execute(f"VACUUM (ANALYZE) {table}")  # the visibility map too: index-only scans
        name = db.execute("SELECT current_database()").fetchone()[0]
        db.execute(f"COMMENT ON DATABASE \"{name}\" IS '{wanted}'")
        print(f"  seeded and indexed in {time.time() - started:.0f} s", flush=True)
    finally:
        db.close()
    return url


def _reset_postgresql(db, marker: str | None) -> None:
    """An empty database is used as it is; one this module seeded (other sizes) is emptied; any
    other is refused: the benchmark never drops what it did not make."""
    tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    if tables == 0:
        return
    if not (marker or "").startswith(POSTGRESQL_MARKER):
        raise SystemExit(f"{db.url} already holds {tables} tables and was not seeded by bench/seed_data.py: "
                         "give the benchmark an empty database")
    print(f"  emptying {db.url} (it held a seeding of other sizes: {marker})", flush=True)
    db.execute("DROP SCHEMA public CASCADE")
    db.execute("CREATE SCHEMA public")


def _copy_postgresql(db, rng: random.Random, contacts: int, messages: int, started: float) -> None:
    now = time.time()
    pooled = db.engine.raw_connection()
    try:
        connection = pooled.driver_connection  # psycopg's own
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # Secondary indexes are built once after the load, from their own definitions.
            indexes = cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = 'public' AND i.tablename = 'messages' "
                "AND NOT x.indisprimary AND NOT x.indisunique").fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            with cursor.copy("COPY contacts (id, phone, name, domain, onboarding_step, created_at, updated_at) "
                             "FROM STDIN") as copy:
                for i, phone, name, created, updated in _contact_rows(contacts, now):
                    copy.write_row((i, phone, name, "example", None, created, updated))
            with cursor.copy("COPY profiles (contact_id, domain, data, updated_at) FROM STDIN") as copy:
                for i, data, updated in _profile_rows(rng, contacts, now):
                    copy.write_row((i, "example", data, updated))
            # Ids written by hand: the identity goes on after them.
            cursor.execute("SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
                           "(SELECT COALESCE(MAX(id), 0) + 1 FROM contacts), false)")
            with cursor.copy("COPY messages (contact_id, direction, body, created_at) FROM STDIN") as copy:
                for n, (_, row) in enumerate(_message_rows(rng, contacts, messages, now), 1):
                    copy.write_row(row)
                    if n % 100_000 == 0:
                        print(f"\r  copied {n:,} messages ({time.time() - started:.0f} s)", end="", flush=True)
            print(f"\r  copied {contacts * (messages // contacts):,} messages ({time.time() - started:.0f} s); "
                  f"building {len(indexes)} indexes", end="", flush=True)
            for _, definition in indexes:
                cursor.execute(definition)
        print(f" ({time.time() - started:.0f} s)", flush=True)
    finally:
        pooled.close()
