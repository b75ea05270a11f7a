"""What Chasqui could not do, kept for the admin (the panel's «Failures» page): a message that
/agent refused or failed on, a scheduled job that failed for one contact.

`contained()` is poison isolation for loops over contacts: one contact's bad data is logged and
recorded, and the loop goes on with the next contact. A failure is never allowed to fail again
while being recorded (the database may be the very thing that is broken).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


from backend.store.database import Database, now

log = logging.getLogger(__name__)

KEPT_ROWS = 5000  # the newest; a flood of bad requests must not grow the table without end
DETAIL_CHARS = 200
ERROR_CHARS = 500


def describe(problem: BaseException) -> str:
    return f"{type(problem).__name__}: {problem}"[:ERROR_CHARS]


def record(db: Database, kind: str, source: str, error: str, subject: str = "",
           contact_id: int | None = None, detail: str | None = None) -> None:
    """One row per (source, subject): a repeat counts up and keeps the latest error."""
    at = now()
    # PostgreSQL aborts the whole transaction at a failed statement: inside the caller's, the
    # recording gets a savepoint of its own, so failing to record leaves the caller's writes alone.
    # (SQLite undoes only the failed statement.)
    savepoint = db.dialect == "postgresql" and db.in_transaction
    try:
        if savepoint:
            db.execute("SAVEPOINT record_failure")
        try:
            # The table's own columns named as failures.x: PostgreSQL finds a bare `times` ambiguous.
            db.execute(
                "INSERT INTO failures (kind, source, subject, contact_id, detail, error, first_at, last_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, subject) DO UPDATE SET "
                "times = failures.times + 1, error = excluded.error, "
                "detail = COALESCE(excluded.detail, failures.detail), "
                "contact_id = COALESCE(excluded.contact_id, failures.contact_id), last_at = excluded.last_at",
                (kind, source, subject[:DETAIL_CHARS], contact_id, detail and detail[:DETAIL_CHARS],
                 error[:ERROR_CHARS], at, at))
            db.execute("DELETE FROM failures WHERE id <= (SELECT MAX(id) FROM failures) - ?", (KEPT_ROWS,))
        except Exception:
            if savepoint:
                db.execute("ROLLBACK TO record_failure")
            raise
        finally:
            if savepoint:
                db.execute("RELEASE record_failure")
    except Exception as problem:  # a broken database or an unencodable text: logged, never raised
        log.error("failure not recorded", extra={"source": source, "error": error, "why": str(problem)})


@contextmanager
def contained(db: Database, job: str, contact_id: int, doing: str | None = None,
              connection: Database | None = None) -> Iterator[None]:
    """Run one contact's share of a job; a failure is logged and recorded, never raised. Inside
    the caller's transaction (`connection`) the contact's writes sit in a savepoint, so a failure
    half-way leaves none of them while the other contacts' writes stay."""
    if connection is not None:
        connection.execute("SAVEPOINT one_contact")
    try:
        yield
    except Exception as problem:  # one contact's bad data must not stop everyone else's
        if connection is not None:
            connection.execute("ROLLBACK TO one_contact")
            connection.execute("RELEASE one_contact")
        log.exception("job failed for one contact", extra={"job": job, "contact": contact_id})
        # Inside the caller's transaction this row commits with the other contacts' writes.
        record(db, "job", job, describe(problem), f"contact {contact_id}", contact_id, doing)
    else:
        if connection is not None:
            connection.execute("RELEASE one_contact")

