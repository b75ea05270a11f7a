"""Opening the SQLite file the way every part of the backend needs it.

WAL lets readers work while one writer writes; the busy timeout makes a second writer wait
instead of failing; foreign keys are off by default in SQLite and must be asked for on every
connection. `transaction()` groups writes that belong together: all of them or none.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

BUSY_TIMEOUT_MS = 5000


def open_database(path: Path | str) -> sqlite_utils.Database:
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: no implicit transactions; transaction() below opens them explicitly.
    connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a power cut loses at most the last commit
    connection.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(connection)


# Writers take SQLite's write lock themselves. SQLite's own busy handler, when the lock is taken,
# sleeps 5 to 25 ms between tries; with several gunicorn processes writing short transactions
# those sleeps, not work, set the pace (measured: bench/alerts_throughput.py). Threads of one
# process first queue on a Python lock, which wakes the next one as soon as the last commits.
_process_writers = threading.Lock()
_FIRST_RETRY_S, _LONGEST_RETRY_S = 0.0002, 0.002


def _take_write_lock(connection: sqlite3.Connection) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = _FIRST_RETRY_S
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as problem:
                if "locked" not in str(problem) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, _LONGEST_RETRY_S)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so two writers never interleave a
    read-then-write (how two bridges are kept from claiming the same alert)."""
    connection = db.conn
    with _process_writers:
        _take_write_lock(connection)
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def db_path(db) -> str:
    """The file behind a handle (a Database or a connection)."""
    return db.execute("PRAGMA database_list").fetchone()[2]


def now() -> float:
    """Times are stored as Unix seconds (REAL): cheap to compare for leases and windows."""
    return time.time()


class Store:
    """The database file, with one connection per thread: a sqlite3 connection shared between
    threads would interleave their transactions."""

    def __init__(self, path: Path | str):
        self.path = path
        self._local = threading.local()

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_database(self.path)
        return db
