"""A backend database at benchmark scale: N onboarded contacts and M messages spread over the past
60 days, written through the real schema (FTS triggers included). Reused when it already exists."""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.store.database import open_database, transaction  # noqa: E402
from backend.store.migrations import migrate  # noqa: E402

WORDS = ("maíz papa riego lluvia helada gusano cogollero hoja mancha lote chacra agua suelo semilla cosecha "
         "abono plaga rodilla tobillo correr ritmo kilómetros tempo fondo cansado lesión carrera plan semana "
         "mañana hoy ayer noche tarde bien mal duele siento quiero puedo tengo hice corrí regué vi").split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))


def seed(path: Path, contacts: int, messages: int, seed_value: int = 7) -> Path:
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
            "VALUES (?, ?, ?, 'example', NULL, ?, ?)",
            [(i, f"+519{i:08d}", f"Usuario {i}", now, now) for i in range(1, contacts + 1)])
        connection.executemany(
            "INSERT INTO profiles (contact_id, domain, data, updated_at) VALUES (?, 'example', ?, ?)",
            [(i, json.dumps({"ciudad": rng.choice(["Cajamarca", "Cusco", "Piura", "Lima"])}), now)
             for i in range(1, contacts + 1)])
    per_contact = messages // contacts
    batch = []
    for contact in range(1, contacts + 1):
        for n in range(per_contact):
            created = now - 60 * 86400 + (n / per_contact) * 60 * 86400
            batch.append((contact, "in" if n % 2 == 0 else "out", sentence(rng), created))
        if len(batch) >= 100_000 or contact == contacts:
            with transaction(db) as connection:
                connection.executemany("INSERT INTO messages (contact_id, direction, body, created_at) "
                                       "VALUES (?, ?, ?, ?)", batch)
            batch.clear()
            print(f"\r  seeded {contact * per_contact:,} messages ({time.time() - started:.0f} s)",
                  end="", flush=True)
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
    db.execute("ANALYZE")
    print(flush=True)
    marker.write_text(f"{contacts} {messages}")
    return path
