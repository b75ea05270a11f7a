"""Slows password guessing on the panel's login: after MAX_FAILURES wrong attempts for one
username from one address within WINDOW_S, that pair is refused until the window ends. Kept in
the database, not in memory, so every gunicorn worker sees the same count. Keyed by username *and*
address so that a stranger cannot lock a real admin out from elsewhere."""
from __future__ import annotations


from backend.store.database import Database, now, transaction

MAX_FAILURES = 5
WINDOW_S = 15 * 60


def _key(username: str, address: str) -> str:
    return f"{(username or '').strip().lower()}|{address}"


def seconds_locked(db: Database, username: str, address: str) -> float:
    """How long this username/address pair must still wait; 0 when it may try."""
    row = db.execute("SELECT failures, window_started_at FROM admin_login_failures WHERE key = ?",
                     (_key(username, address),)).fetchone()
    if row is None or row[0] < MAX_FAILURES:
        return 0.0
    return max(0.0, row[1] + WINDOW_S - now())


def record_failure(db: Database, username: str, address: str) -> None:
    at = now()
    with transaction(db) as connection:
        # A window that has ended starts again at one failure.
        connection.execute(
            "INSERT INTO admin_login_failures (key, failures, window_started_at) VALUES (?, 1, ?) "
            # The stored row named by its table: PostgreSQL finds a bare column name ambiguous beside `excluded`.
            "ON CONFLICT(key) DO UPDATE SET "
            "failures = CASE WHEN admin_login_failures.window_started_at + ? < excluded.window_started_at THEN 1 "
            "ELSE admin_login_failures.failures + 1 END, "
            "window_started_at = CASE WHEN admin_login_failures.window_started_at + ? < excluded.window_started_at "
            "THEN excluded.window_started_at ELSE admin_login_failures.window_started_at END",
            (_key(username, address), at, WINDOW_S, WINDOW_S))


def clear(db: Database, username: str, address: str) -> None:
    with transaction(db) as connection:
        connection.execute("DELETE FROM admin_login_failures WHERE key = ?", (_key(username, address),))
