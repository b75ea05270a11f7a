"""The load, in the target's one transaction: each table read in key order from one consistent
snapshot of the source and written in batches (a PostgreSQL target through COPY, its foreign keys
and secondary indexes dropped for the load and built again after it, the foreign keys checking
every row, as pg_restore does: twice as fast as maintaining the full-text GIN index row by row),
then each identity sequence moved past the highest id."""
from __future__ import annotations

import re
import time
from typing import Callable, Iterator

import sqlalchemy

from backend.store.copy.common import CopyError, CopyReport, Table, _first_line, _q
from backend.store.copy.read import PROGRESS_EVERY_S, _batches, _Progress, _select
from backend.store.copy.transactions import _check_sqlite_foreign_keys
from backend.store.copy.values import _conversions, _converted
from backend.store.database import Database

BIG_TABLE_ROWS = 50_000  # its indexes' builds are announced


def _load(reading, writing, source: Database, target: Database, tables: list[Table], batch_rows: int,
          report: CopyReport, say: Callable[[str], None]) -> None:
    postgresql = _PostgresqlLoad(writing, tables) if target.dialect == "postgresql" else None
    sqlite = None if postgresql else _SqliteLoad(writing, tables)
    (postgresql or sqlite).drop()
    write = _write_postgresql if postgresql else _write_sqlite
    for table in tables:
        started = time.monotonic()
        try:
            written = write(writing, table, _batches(reading, _select(source, table), batch_rows),
                            _conversions(table, source, target), _Progress(say, table, "copied"))
        except CopyError:
            raise
        except Exception as problem:
            raise CopyError(f"copying table {table.name} failed: {_first_line(problem)}; the target was rolled back",
                            exit_code=1) from None
        table.copy_s = time.monotonic() - started
        if written != table.rows:
            raise CopyError(f"table {table.name}: {written:,} rows read, {table.rows:,} counted; the target was "
                            "rolled back", exit_code=1)
        say(f"  {table.name:<28} {written:>12,} rows copied {table.copy_s:9.1f} s"
            + (f"  ({written / table.copy_s:,.0f} rows/s)" if written and table.copy_s else ""))
    started = time.monotonic()
    if postgresql:
        postgresql.build({t.name: t.rows for t in tables}, say)
        report.sequences = postgresql.reset_sequences(tables)
        report.index_s = time.monotonic() - started
        say(f"indexes and foreign keys in {report.index_s:.1f} s; identity sequences moved past the copied ids "
            f"({len(report.sequences)} columns)")
    else:
        sqlite.build(say)
        _check_sqlite_foreign_keys(writing, "target")
        report.index_s = time.monotonic() - started
        say(f"indexes, full-text indexes and foreign keys in {report.index_s:.1f} s")


def _write_postgresql(connection: sqlalchemy.Connection, table: Table, batches: Iterator[list[tuple]],
                      conversions: list, progress: _Progress) -> int:
    """One COPY per table, fed batch by batch."""
    cursor = connection.connection.dbapi_connection.cursor()
    written = 0
    with cursor.copy(f"COPY {_q(table.name)} ({', '.join(_q(c.name) for c in table.columns)}) FROM STDIN") as copy:
        for batch in batches:
            for row in _converted(batch, conversions):
                copy.write_row(row)
            written += len(batch)
            progress.add(len(batch))
    return written


def _write_sqlite(connection: sqlalchemy.Connection, table: Table, batches: Iterator[list[tuple]],
                  conversions: list, progress: _Progress) -> int:
    raw = connection.connection.dbapi_connection
    sql = (f"INSERT INTO {_q(table.name)} ({', '.join(_q(c.name) for c in table.columns)}) "
           f"VALUES ({', '.join('?' for _ in table.columns)})")
    written = 0
    for batch in batches:
        raw.executemany(sql, _converted(batch, conversions))
        written += len(batch)
        progress.add(len(batch))
    return written


class _PostgresqlLoad:
    """What pg_restore does: the copied tables' foreign keys and secondary indexes (not their
    primary keys and unique constraints) are dropped for the load and built again after it, in the
    same transaction; adding a foreign key back checks every copied row against it."""

    def __init__(self, connection: sqlalchemy.Connection, tables: list[Table]):
        self.connection = connection
        names = {t.name for t in tables}
        self.foreign_keys = [tuple(row) for row in connection.exec_driver_sql(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY t.relname, c.conname")
            if row[0] in names]
        self.indexes = [tuple(row) for row in connection.exec_driver_sql(
            "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
            "AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY t.relname, i.relname")
            if row[0] in names]

    def drop(self) -> None:
        for table, constraint, _ in self.foreign_keys:
            self.connection.exec_driver_sql(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(constraint)}")
        for _, index, _ in self.indexes:
            self.connection.exec_driver_sql(f"DROP INDEX {_q(index)}")

    def build(self, rows: dict[str, int], say: Callable[[str], None]) -> None:
        self.connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        say(f"building {len(self.indexes)} indexes and checking {len(self.foreign_keys)} foreign keys")
        for table, index, definition in self.indexes:
            if rows.get(table, 0) >= BIG_TABLE_ROWS:
                say(f"    {table}: building {index} over {rows[table]:,} rows")
            started = time.monotonic()
            try:
                self.connection.exec_driver_sql(definition)
            except Exception as problem:
                raise CopyError(f"table {table}: the index {index} cannot be built on the copied rows: "
                                f"{_first_line(problem)}; the target was rolled back", exit_code=1) from None
            if time.monotonic() - started > PROGRESS_EVERY_S:
                say(f"    {table}: index {index} built in {time.monotonic() - started:.1f} s")
        for table, constraint, definition in self.foreign_keys:
            try:
                self.connection.exec_driver_sql(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(constraint)} {definition}")
            except Exception as problem:
                raise CopyError(f"table {table}: the foreign key {constraint} ({definition}) does not hold on the "
                                f"copied rows: {_first_line(problem)}; the target was rolled back", exit_code=1) from None

    def reset_sequences(self, tables: list[Table]) -> dict[str, int]:
        """Each identity column's sequence hands out the id after the highest copied one."""
        names = {t.name for t in tables}
        identities = self.connection.exec_driver_sql(
            "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL "
            "ORDER BY table_name, column_name").fetchall()
        following = {}
        for table, column, sequence in identities:
            if table in names:
                following[f"{table}.{column}"] = self.connection.exec_driver_sql(
                    f"SELECT setval(%s, COALESCE(MAX({_q(column)}), 0) + 1, false) FROM {_q(table)}",
                    (sequence,)).fetchone()[0]
        return following


class _SqliteLoad:
    """The same on SQLite: the copied tables' secondary indexes and triggers are dropped for the load
    and made again after it, and each full-text index is built at once from the copied rows (FTS5's
    'rebuild') instead of by a trigger per row: about ten times faster. (A trigger would also
    replay, on rows copied whole, what it did when they were first written.) Kept as they are when
    an FTS5 table holds its own text, which only its triggers can fill."""

    def __init__(self, connection: sqlalchemy.Connection, tables: list[Table]):
        self.connection = connection
        names = {t.name for t in tables}
        schema = connection.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                            "WHERE sql IS NOT NULL ORDER BY name").fetchall()
        self.full_text = [name for kind, name, _, sql in schema
                          if kind == "table" and re.match(r"(?is)create\s+virtual\s+table.*\busing\s+fts5", sql)]
        external = all(re.search(r"(?i)\bcontent\s*=\s*'[^']+'", sql) for kind, name, _, sql in schema
                       if name in self.full_text)
        self.indexes = [(name, sql) for kind, name, table, sql in schema if kind == "index" and table in names]
        self.triggers = [(name, sql) for kind, name, table, sql in schema
                         if kind == "trigger" and table in names] if external else []
        if not external:
            self.full_text = []

    def drop(self) -> None:
        for name, _ in self.triggers:
            self.connection.exec_driver_sql(f"DROP TRIGGER {_q(name)}")
        for name, _ in self.indexes:
            self.connection.exec_driver_sql(f"DROP INDEX {_q(name)}")
        self.connection.exec_driver_sql("PRAGMA cache_size = -131072")  # 128 MB for the index builds

    def build(self, say: Callable[[str], None]) -> None:
        say(f"building {len(self.indexes)} indexes and {len(self.full_text)} full-text indexes")
        for name, sql in self.indexes:
            self.connection.exec_driver_sql(sql)
        for name in self.full_text:
            self.connection.exec_driver_sql(f"INSERT INTO {_q(name)}({_q(name)}) VALUES ('rebuild')")
        for name, sql in self.triggers:
            self.connection.exec_driver_sql(sql)
