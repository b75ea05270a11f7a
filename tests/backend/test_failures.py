"""What could not be done is recorded for the admin: a message /agent refused or failed on, and a
job that failed for one contact — which goes on with the others."""
from __future__ import annotations

import sqlite3

import pytest

from backend.failures import contained, record
from backend.plugins.base import DomainPlugin, ScheduledJob
from backend.scheduler import Scheduler
from backend.store.database import open_database, transaction
from backend.store.migrations import migrate
from tests.backend.conftest import AUTH
from tests.databases import store_location

PHONES = ["+51987000001", "+51987000002", "+51987000003"]


def greet_everyone(db) -> None:
    """A job over every contact; the contact named «Veneno» has data it cannot use."""
    with transaction(db) as connection:
        for contact_id, name in connection.execute("SELECT id, name FROM contacts ORDER BY id").fetchall():
            with contained(db, "test.greet", contact_id, "greeting", connection):
                connection.execute("INSERT INTO notes_for_test (contact_id) VALUES (?)", [contact_id])
                if name == "Veneno":
                    raise ValueError(f"contact {contact_id} cannot be greeted")


@pytest.fixture
def backend(make_backend):
    """The conftest's backend, its scheduler stopped after the test: on PostgreSQL a scheduler left
    ticking fails once the session's server is gone, and logs it at interpreter exit."""
    made = make_backend()
    yield made
    made.app.extensions["chasqui_scheduler"].stop()


@pytest.fixture
def contacts(backend):
    for phone, name in zip(PHONES, ["Rosa", "Veneno", "Juan"]):
        backend.onboard(phone, name)
    backend.db.execute("CREATE TABLE notes_for_test (contact_id INTEGER)")
    return backend


def test_a_job_that_fails_for_one_contact_goes_on_with_the_others_and_records_it(contacts):
    plugin = DomainPlugin(name="test", label="test", system_prompt="", jobs=[ScheduledJob("greet", 60, greet_everyone)])
    store = contacts.app.extensions["chasqui_store"]
    assert Scheduler(store, {"test": plugin}).run_due() == ["test.greet"]
    greeted = [row[0] for row in contacts.db.execute("SELECT contact_id FROM notes_for_test ORDER BY 1")]
    poisoned = contacts.db.execute("SELECT id FROM contacts WHERE name = 'Veneno'").fetchone()[0]
    assert poisoned not in greeted and len(greeted) == 2  # its half-done write was taken back, the others stay
    row = contacts.db.execute("SELECT kind, source, subject, contact_id, error, times FROM failures").fetchall()
    assert row == [("job", "test.greet", f"contact {poisoned}", poisoned,
                    f"ValueError: contact {poisoned} cannot be greeted", 1)]
    assert contacts.db.execute("SELECT last_error FROM job_runs WHERE name = 'test.greet'").fetchone()[0] is None


def test_a_failure_that_cannot_be_recorded_leaves_the_callers_transaction_alone(tmp_path):
    db = open_database(store_location(tmp_path / "chasqui.db"))
    try:
        migrate(db)
        db.execute("CREATE TABLE notes_for_test (contact_id INTEGER)")
        with transaction(db) as connection:
            connection.execute("INSERT INTO notes_for_test (contact_id) VALUES (1)")
            # No contact 999: the row is refused. PostgreSQL would abort the whole transaction there.
            record(db, "job", "test.greet", "ValueError: x", "contact 999", contact_id=999)
            record(db, "job", "test.greet", "ValueError: y", "contact 1")
            connection.execute("INSERT INTO notes_for_test (contact_id) VALUES (2)")
        assert [row[0] for row in db.execute("SELECT contact_id FROM notes_for_test ORDER BY 1")] == [1, 2]
        assert db.execute("SELECT subject, error, times FROM failures").fetchall() == [
            ("contact 1", "ValueError: y", 1)]
        record(db, "job", "test.greet", "ValueError: z", "contact 1", detail="again")  # outside a transaction
        assert db.execute("SELECT error, detail, times FROM failures").fetchall() == [("ValueError: z", "again", 2)]
    finally:
        db.close()


def test_a_job_that_fails_as_a_whole_is_recorded_and_the_next_job_still_runs(backend):
    def broken(db):
        raise sqlite3.OperationalError("no such table: gone")
    ran = []
    plugin = DomainPlugin(name="test", label="test", system_prompt="", jobs=[
        ScheduledJob("broken", 60, broken), ScheduledJob("fine", 60, lambda db: ran.append(1))])
    assert Scheduler(backend.app.extensions["chasqui_store"], {"test": plugin}).run_due() == ["test.broken", "test.fine"]
    assert ran == [1]
    assert backend.db.execute("SELECT kind, source, subject, error FROM failures").fetchall() == [
        ("job", "test.broken", "", "OperationalError: no such table: gone")]


def test_a_refused_message_is_recorded_once_however_often_the_bridge_retries(backend):
    backend.onboard(PHONES[0])
    for _ in range(3):
        response = backend.agent(PHONES[0], "x" * 5000, message_id="wamid.LONG")
        assert response.status_code == 400
    rows = backend.db.execute("SELECT kind, source, subject, contact_id IS NOT NULL, times, error FROM failures").fetchall()
    assert len(rows) == 1
    kind, source, subject, has_contact, times, error = rows[0]
    assert (kind, source, subject, has_contact, times) == ("message", "/agent", "wamid.LONG", True, 3)
    assert "5000 characters" in error


def test_a_message_the_backend_fails_on_is_recorded_with_its_error(backend):
    backend.onboard(PHONES[0])
    backend.db.execute("ALTER TABLE messages RENAME TO messages_gone")  # every turn now fails
    response = backend.agent(PHONES[0], "hola", message_id="wamid.BROKEN")
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
    subject, error = backend.db.execute("SELECT subject, error FROM failures").fetchone()
    missing_table = "UndefinedTable" if backend.db.dialect == "postgresql" else "OperationalError"
    assert subject == "wamid.BROKEN" and missing_table in error


def test_a_refusal_without_a_readable_phone_is_recorded_too(backend):
    response = backend.client.post("/agent", json={"phone": "\ud800", "message": "hola"}, headers=AUTH)
    assert response.status_code == 400
    assert backend.db.execute("SELECT kind, contact_id FROM failures").fetchall() == [("message", None)]
