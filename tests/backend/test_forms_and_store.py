"""Forms validated against their definitions; the store's guarantees; `chasqui db migrate`."""
import subprocess

import pytest

from backend.store.database import IntegrityError, open_database
from backend.store.migrations import MIGRATIONS, current_version, migrate
from tests.backend.conftest import AUTH
from tests.databases import ENGINE, database_env, store_location
from tests.servers import CHASQUI, REPO, service_env

PHONE = "+51987654321"


def submit(backend, body):
    return backend.client.post("/form/update", json=body, headers=AUTH)


def test_form_submission_is_validated_and_stored(backend):
    backend.onboard(PHONE)
    ok = submit(backend, {"phone": "51987654321@c.us", "form": "nota", "data": {"texto": "regar el lote 2"}})
    assert ok.status_code == 201
    bad = submit(backend, {"phone": PHONE, "form": "nota", "data": {"texto": ""}})
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_form_data"
    assert "at texto" in bad.json["error"]["message"]
    extra = submit(backend, {"phone": PHONE, "form": "nota", "data": {"texto": "x", "otro": 1}})
    assert extra.status_code == 400
    assert submit(backend, {"phone": PHONE, "form": "cosecha", "data": {}}).json["error"]["code"] == "unknown_form"
    assert submit(backend, {"phone": "+51911111111", "form": "nota", "data": {"texto": "x"}}).status_code == 404
    assert submit(backend, {"phone": PHONE, "form": "nota", "data": "texto"}).status_code == 400
    assert backend.count("form_submissions") == 1


def blank_store(path):
    """A store with no tables yet: a new SQLite file, or the test's PostgreSQL database emptied (those
    are copies of a migrated template)."""
    db = open_database(store_location(path))
    if db.dialect == "postgresql":
        db.execute("DROP SCHEMA public CASCADE")
        db.execute("CREATE SCHEMA public")
    return db


def table_exists(db, name: str) -> bool:
    if db.dialect == "sqlite":
        return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None
    return db.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                      "AND table_name = ?", [name]).fetchone() is not None


def test_idempotent_migrations_and_foreign_keys(tmp_path):
    db = blank_store(tmp_path / "x.db")
    assert migrate(db) == [version for version, _, _ in MIGRATIONS]
    assert migrate(db) == []
    assert current_version(db) == MIGRATIONS[-1][0]
    with pytest.raises(IntegrityError, match="(?i)foreign key"):
        db.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (999, 'in', 'x', 0)")


@pytest.mark.sqlite_only
def test_sqlite_pragmas(tmp_path):
    db = open_database(tmp_path / "x.db")
    migrate(db)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_failed_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    db = open_database(store_location(tmp_path / "y.db"))
    migrate(db)
    broken = MIGRATIONS + [(MIGRATIONS[-1][0] + 1, "broken", "CREATE TABLE half (x INTEGER);\nNOT SQL AT ALL;\n")]
    monkeypatch.setattr("backend.store.migrations.MIGRATIONS", broken)
    try:
        migrate(db)
    except Exception:
        pass
    assert current_version(db) == MIGRATIONS[-1][0]
    assert not table_exists(db, "half")  # the whole migration rolled back


def test_model_call_counts_survive_the_split_per_endpoint(tmp_path, monkeypatch):
    db = blank_store(tmp_path / "v3.db")
    monkeypatch.setattr("backend.store.migrations.MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 3])
    migrate(db)
    db.execute("INSERT INTO contacts (id, phone, created_at, updated_at) VALUES (1, '+51900000001', 0, 0)")
    db.execute("INSERT INTO model_calls (contact_id, day, calls) VALUES (1, '2026-11-21', 7)")
    monkeypatch.setattr("backend.store.migrations.MIGRATIONS", MIGRATIONS)
    assert migrate(db) == [version for version, _, _ in MIGRATIONS if version > 3]
    assert db.execute("SELECT contact_id, day, endpoint, calls FROM model_calls").fetchall() == [
        (1, "2026-11-21", "model", 7)]


def test_chasqui_db_migrate(tmp_path):
    blank_store(tmp_path / "cli.db").close()
    env = service_env(**database_env(tmp_path / "cli.db"))
    first = subprocess.run(CHASQUI + ["db", "migrate"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "applied 1" in first.stdout, first.stderr
    again = subprocess.run(CHASQUI + ["db", "migrate"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "up to date" in again.stdout


def test_health_reports_database_and_model(backend):
    body = backend.client.get("/health").json  # no token needed
    assert body["database"] == "ok" and body["model_api"] == "ready" and body["status"] == "ok"
    assert body["database_engine"] == backend.db.dialect == ENGINE
    assert backend.client.get("/metrics").status_code == 401
    assert "chasqui_agent_replies" in backend.client.get("/metrics", headers=AUTH).get_data(as_text=True)
