"""A table's rows as the load and the verification read them: in key order, in batches, and the
progress said meanwhile. Memory stays bounded by the batch size: rows are streamed (a
server-side cursor on PostgreSQL)."""
from __future__ import annotations

import itertools
import sqlite3
import time
from typing import Callable, Iterator

import sqlalchemy

from backend.store.copy.common import Table, _q
from backend.store.database import Database

PROGRESS_EVERY_S = 2.0


def _select(db: Database, table: Table) -> str:
    """Every copied column, in key order; the same order on both engines (text keys by their bytes:
    SQLite's BINARY, PostgreSQL's "C")."""
    kinds = {c.name: c.kind for c in table.columns}
    order = ", ".join(_q(k) + (' COLLATE "C"' if db.dialect == "postgresql" and kinds[k] == "text" else "")
                      for k in table.key)
    return f"SELECT {', '.join(_q(c.name) for c in table.columns)} FROM {_q(table.name)} ORDER BY {order}"


def _batches(connection: sqlalchemy.Connection, sql: str, size: int) -> Iterator[list[tuple]]:
    """The rows `sql` selects, `size` at a time, streamed: SQLite steps through them; PostgreSQL
    keeps them in a server-side cursor (inside the connection's open transaction)."""
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor() if isinstance(raw, sqlite3.Connection) else raw.cursor(name=f"chasqui_copy_{next(_cursors)}")
    try:
        cursor.execute(sql)
        while True:
            rows = cursor.fetchmany(size)
            if not rows:
                return
            yield rows
    finally:
        cursor.close()


_cursors = itertools.count(1)


class _Progress:
    def __init__(self, say: Callable[[str], None], table: Table, doing: str):
        self.say, self.table, self.doing = say, table, doing
        self.started = self.last = time.monotonic()
        self.done = 0

    def add(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S and self.done < self.table.rows:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.table.rows - self.done) / rate if rate else 0
            self.say(f"    {self.table.name}: {self.doing} {self.done:,} of {self.table.rows:,} rows "
                     f"({100 * self.done // max(self.table.rows, 1)}%), {rate:,.0f} rows/s, ~{left:,.0f} s left")
