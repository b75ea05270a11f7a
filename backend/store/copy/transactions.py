"""The copy's two transactions: the source read from one snapshot, the target written in one
transaction that is committed only once every row is verified. Before it is, the snapshot's end
checks that the source did not change while it was read (SQLite: PRAGMA data_version sees any
other connection's commit; PostgreSQL: row counts)."""
from __future__ import annotations

import sqlalchemy

from backend.store.copy.common import CopyError, Table, _q
from backend.store.database import WRITERS_LOCK_KEY, Database


def _begin_snapshot(connection: sqlalchemy.Connection, db: Database) -> None:
    if db.dialect == "sqlite":
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("SELECT COUNT(*) FROM schema_migrations").fetchone()  # the snapshot starts here
    else:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.exec_driver_sql("SET idle_in_transaction_session_timeout = 0")
        connection.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _data_version(connection: sqlalchemy.Connection) -> int:
    return connection.exec_driver_sql("PRAGMA data_version").fetchone()[0]


def _source_changed(reading, source: Database, tables: list[Table], version_before: int | None) -> bool:
    """Ends the snapshot; true when something wrote to the source since it began."""
    reading.exec_driver_sql("ROLLBACK")
    if source.dialect == "sqlite":
        return _data_version(reading) != version_before
    # PostgreSQL: rows added or removed (an update in place is not seen: stop the backend first).
    return any(reading.exec_driver_sql(f"SELECT COUNT(*) FROM {_q(t.name)}").fetchone()[0] != t.rows for t in tables)


def _begin_writing(connection: sqlalchemy.Connection, db: Database) -> None:
    if db.dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # checked before COMMIT
    else:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.exec_driver_sql("BEGIN")
        # Backends started on the target meanwhile wait for their writes (database.transaction).
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK_KEY})")


def _check_sqlite_foreign_keys(connection: sqlalchemy.Connection, where: str) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        listed = "; ".join(f"{table} row {rowid} refers to a missing {parent}" for table, rowid, parent, _ in broken)
        raise CopyError(f"the {where} has rows whose foreign keys point nowhere: {listed}. Fix or delete them "
                        "first; nothing was copied", exit_code=1 if where == "target" else 2)


def _roll_back(connection: sqlalchemy.Connection) -> None:
    try:
        connection.exec_driver_sql("ROLLBACK")
    except Exception:
        connection.invalidate()  # a broken connection: the server rolls back when it goes
