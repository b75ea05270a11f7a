"""The backend's one kind of database handle, on SQLite (the embedded default) or PostgreSQL.

`Database` wraps a SQLAlchemy Core engine: its connection pool, its dialect and driver (the
standard library's sqlite3, psycopg 3 for PostgreSQL). Every part of the backend and every
plug-in writes SQL through it, in one style: `?` placeholders and SQL both engines read (an
`ON CONFLICT` instead of SQLite's `INSERT OR IGNORE`, `insert()`'s `RETURNING id` instead of
`lastrowid`).
Where the engines truly differ (full-text search, DDL types) the caller asks `db.dialect`.

Why textual SQL through `exec_driver_sql` rather than Core's expression language: the ~200
statements were written and measured as SQL (index hints, keyset paging); rewriting them as
expressions would change plans nobody re-measured. Placeholders are translated once per
statement text (cached). A statement costs ~27 µs more than through the bare driver (a one-row
SELECT by key on SQLite: 31 µs against 3.7 µs, an idle machine; bench/store_engines.py prints it
too): the pool's checkout and SQLAlchemy's execution context, ~0.5 ms in a turn of ~17 statements.

A statement outside `transaction()` commits on its own. `transaction()` groups writes that belong
together: all of them or none. On SQLite, BEGIN IMMEDIATE takes the one write lock up front, so two
writers never interleave a read-then-write; on PostgreSQL a transaction-scoped advisory lock gives
the same guarantee across every backend process on every machine, unless the caller says its
statements guard themselves with row locks (`serialized=False`: alert claims with
FOR UPDATE SKIP LOCKED, scheduled job runs).
"""
from __future__ import annotations

import functools
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlalchemy
from sqlalchemy import event

from backend.text import fold
from chasqui.env import chasqui_home

IntegrityError = sqlalchemy.exc.IntegrityError  # what a broken UNIQUE or foreign key raises, on either engine
BUSY_TIMEOUT_MS = 5000
# PostgreSQL: the key of the advisory lock that serializes writing transactions.
WRITERS_LOCK_KEY = 4_242_001


class NestedTransaction(RuntimeError):
    """A transaction was opened inside another: SQLite has one writer, so this would deadlock."""


class Cursor:
    """What a statement returned, already read: its connection is back in the pool. Rows are
    tuples (as sqlite3 gives them); `description` and `rowcount` as in DB-API (no lastrowid:
    `Database.insert`)."""

    __slots__ = ("_rows", "_next", "description", "rowcount")

    def __init__(self, rows: list[tuple], description, rowcount: int):
        self._rows, self._next = rows, 0
        self.description, self.rowcount = description, rowcount

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple]:
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


def database_url(location: str | Path) -> str:
    """A SQLAlchemy URL for a setting: a postgresql:// URL, a sqlite:/// URL or a plain file path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if text.startswith(("postgresql+", "sqlite:")):
        return text
    if text == ":memory:":
        return "sqlite://"
    return "sqlite:///" + str(Path(text).expanduser())


@functools.lru_cache(maxsize=4096)
def _for_psycopg(sql: str) -> str:
    """`?` placeholders become `%s` and a literal `%` becomes `%%`, outside quoted text."""
    out, quote = [], None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        if char == "%":
            out.append("%%")
            continue
        out.append(char)
    return "".join(out)


def _engine(url: str) -> sqlalchemy.Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sqlalchemy.create_engine(
            url, isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=64, pool_timeout=30,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        event.listen(engine, "connect", _prepare_sqlite)
        return engine
    # pre_ping: a connection the server closed (a restart, a failover) is replaced, not handed out.
    return sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=8, max_overflow=32,
                                    pool_timeout=30, pool_pre_ping=True, pool_recycle=1800)


def _prepare_sqlite(connection: sqlite3.Connection, _record) -> None:
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a power cut loses at most the last commit
    connection.execute("PRAGMA foreign_keys = ON")
    # PostgreSQL gets the same function from its migrations (backend/store/dialects.py).
    connection.create_function("fold", 1, lambda text: fold(text) if isinstance(text, str) else text,
                               deterministic=True)


# The transaction each thread has open, by engine: inside `with transaction(db) as connection:`,
# a statement through `db` itself joins the transaction (as sqlite3's one connection per thread
# did) instead of waiting on another connection for the lock its own thread holds.
_open_here = threading.local()


def _open_transaction(engine: sqlalchemy.Engine) -> sqlalchemy.Connection | None:
    return getattr(_open_here, "by_engine", {}).get(id(engine))


class Database:
    """The handle: the whole database, or (inside `transaction()`) one transaction on it."""

    def __init__(self, engine: sqlalchemy.Engine, connection: sqlalchemy.Connection | None = None):
        self.engine = engine
        self._connection = connection

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """The SQLite file; None on PostgreSQL or in memory."""
        database = self.engine.url.database
        return Path(database) if self.dialect == "sqlite" and database and database != ":memory:" else None

    def _joined(self) -> sqlalchemy.Connection | None:
        return self._connection if self._connection is not None else _open_transaction(self.engine)

    @property
    def in_transaction(self) -> bool:
        """Whether a statement through this handle runs inside an open transaction."""
        return self._joined() is not None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        joined = self._joined()
        if joined is not None:
            return self._run(joined, sql, params)
        with self.engine.connect() as connection:
            return self._run(connection, sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        rows = [tuple(row) for row in rows]
        if not rows:
            return
        joined = self._joined()
        if joined is not None:
            joined.exec_driver_sql(self._native(sql), rows)
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql(self._native(sql), rows)

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT and return the new row's id (None: no row, as after ON CONFLICT DO NOTHING).
        `RETURNING id`, which both engines read: PostgreSQL has no lastrowid."""
        row = self.execute(f"{sql} RETURNING id", params).fetchone()
        return None if row is None else row[0]

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict]:
        """The rows as dicts keyed by column name."""
        cursor = self.execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        return (dict(zip(names, row)) for row in cursor.fetchall())

    def _native(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else _for_psycopg(sql)

    def _run(self, connection: sqlalchemy.Connection, sql: str, params: Sequence[Any]) -> Cursor:
        result = connection.exec_driver_sql(self._native(sql), tuple(params))
        if result.returns_rows:
            description = result.cursor.description
            rows = [tuple(row) for row in result.fetchall()]
        else:
            description, rows = None, []
        return Cursor(rows, description, result.rowcount)

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url!r}{', in a transaction' if self._connection is not None else ''})"


def open_database(location: str | Path) -> Database:
    """A file path, `sqlite:///…` or `postgresql://…` (the BACKEND_DATABASE_URL setting)."""
    return Database(_engine(database_url(location)))


# SQLite: writers take the write lock themselves. SQLite's own busy handler, when the lock is
# taken, sleeps 5 to 25 ms between tries; with several gunicorn processes writing short
# transactions those sleeps, not work, set the pace (measured: bench/alerts_throughput.py). Threads
# of one process first queue on a Python lock, which wakes the next one as soon as the last commits.
_process_writers = threading.Lock()
_FIRST_RETRY_S, _LONGEST_RETRY_S = 0.0002, 0.002


def _take_sqlite_write_lock(connection: sqlite3.Connection) -> None:
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
def transaction(db: Database, *, serialized: bool = True) -> Iterator[Database]:
    """All of the block's statements or none. `serialized=False` (PostgreSQL only; SQLite always
    has one writer): the statements take their own row locks and may run beside other writers."""
    if db._joined() is not None:
        raise NestedTransaction("a transaction is already open in this thread")
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            with _process_writers:
                _take_sqlite_write_lock(connection.connection.dbapi_connection)
                yield from _committed(connection, db)
        else:
            connection.exec_driver_sql("BEGIN")
            if serialized:
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK_KEY})")
            yield from _committed(connection, db)


def _committed(connection: sqlalchemy.Connection, db: Database) -> Iterator[Database]:
    open_here = _open_here.__dict__.setdefault("by_engine", {})
    open_here[id(db.engine)] = connection
    try:
        try:
            yield Database(db.engine, connection)
        except BaseException:
            connection.exec_driver_sql("ROLLBACK")
            raise
        connection.exec_driver_sql("COMMIT")
    finally:
        del open_here[id(db.engine)]


def database_folder(db: Database) -> Path:
    """Where files that live beside the database go (a plug-in's caches): the SQLite file's
    folder; with PostgreSQL, this machine's CHASQUI_HOME."""
    return db.path.parent if db.path is not None else chasqui_home()


def now() -> float:
    """Times are stored as Unix seconds (REAL, DOUBLE PRECISION on PostgreSQL): cheap to compare
    for leases and windows."""
    return time.time()


class Store:
    """The database a service opened, shared by its threads (each statement borrows a pooled
    connection, so threads never interleave their transactions)."""

    def __init__(self, location: str | Path):
        self.location = location
        self.db = open_database(location)

    @property
    def path(self) -> Path | None:
        return self.db.path
