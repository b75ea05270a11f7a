"""`chasqui db copy SOURCE TARGET`: a whole deployment's database onto another engine (SQLite to
PostgreSQL, the move this was written for; also PostgreSQL to SQLite, SQLite to SQLite and
PostgreSQL to PostgreSQL), verified row by row before the target keeps any of it.

What it does, in order:
1. Reads the source's schema versions (core and each plug-in's) and refuses a version this code
   does not know, a plug-in it does not have, or a target that already holds data (any row in
   any table but the migrations' bookkeeping) or a newer schema than the source. Nothing has been
   written to the target yet when it refuses.
2. Migrates the target with the same migrations, core and every plug-in the source has, up to
   exactly the source's versions (so the columns match; the backend migrates further on start).
3. In one transaction on the target, copies every table both have (not SQLite's full-text index
   tables: the target's engine indexes the copied rows itself; not the bookkeeping the migrations
   filled; not generated columns such as alerts.priority), parents before children, each table
   read in key order from one consistent snapshot of the source and written in batches (a
   PostgreSQL target through COPY, its foreign keys and secondary indexes dropped for the load and
   built again after it, the foreign keys checking every row, as pg_restore does: twice as fast as
   maintaining the full-text GIN index row by row), then moves each identity sequence past the
   highest id.
4. Still inside that transaction, reads both sides again in key order, batch by batch, and
   compares every row: its values as the drivers give them (numbers exactly, text and bytes
   whole), and a row that is not equal so again by a digest of its normalized values. The first
   differing row is reported by table and key, with its differing columns, and the target is
   rolled back.
5. Checks that the source did not change while it was read (SQLite: PRAGMA data_version sees any
   other connection's commit; PostgreSQL: row counts) and only then commits.

Memory stays bounded by the batch size: rows are streamed (a server-side cursor on PostgreSQL).
A failure after step 2 leaves the target migrated but empty, so the same command can run again.
"""
from __future__ import annotations

import hashlib
import itertools
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlalchemy
from sqlalchemy.engine import make_url

from backend.store.database import WRITERS_LOCK_KEY, Database, database_url, open_database

BATCH_ROWS = 5000
BOOKKEEPING = ("schema_migrations", "plugin_migrations")  # filled by migrating the target
FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")
PROGRESS_EVERY_S = 2.0
BIG_TABLE_ROWS = 50_000  # its indexes' builds are announced
ADVICE = ("Stop the backend first (every gunicorn worker, on every machine) and keep it stopped until the copy "
          "is done and BACKEND_DATABASE_URL points at the target. The source is read from one snapshot; if "
          "anything writes to it meanwhile the copy is rolled back (--while-running keeps the snapshot instead, "
          "for a rehearsal: what was written after it is not in the target).")


class CopyError(Exception):
    """A refusal or a failure, said for the operator. `exit_code` 2: refused before the target was
    written to; 1: the copy or its verification failed and the target was rolled back."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Column:
    name: str
    kind: str  # int, float, bytes, text or other: how values are converted and compared


@dataclass
class Table:
    name: str
    columns: list[Column]
    key: list[str]  # the primary key (all columns when there is none): the order rows are read in
    parents: set[str] = field(default_factory=set)
    rows: int = 0  # in the source's snapshot
    copy_s: float = 0.0
    verify_s: float = 0.0


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[Table]
    skipped: list[str]
    core_version: int
    plugin_versions: dict[str, int]
    sequences: dict[str, int]  # "table.column" -> the next id the target hands out
    snapshot_only: bool = False  # --while-running, and the source did change
    index_s: float = 0.0  # PostgreSQL: building the indexes and foreign keys after the load

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


# --- opening ------------------------------------------------------------------------------------

def _shown(text: str) -> str:
    """A location as it may be printed: never a password."""
    return re.sub(r"//([^/@:]*):.*@", r"//\1:***@", text)  # up to the last @: rather too much than too little


def _open(location: str, role: str) -> Database:
    text = location.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme and scheme not in ("sqlite", "postgresql", "postgres", "postgresql+psycopg"):
        raise CopyError(f"the {role} {_shown(text)!r} is not a database Chasqui reads: give a file path, "
                        "sqlite:///path/chasqui.db or postgresql://user@host/database")
    url = database_url(text)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            raise CopyError(f"the {role} {text!r} names no file: sqlite:///path/chasqui.db (three slashes, "
                            "then the path; four for an absolute one)")
        if role == "source" and not Path(path).is_file():
            raise CopyError(f"the source {path} does not exist (nothing was changed)")
        if role == "target" and not Path(path).parent.is_dir():
            raise CopyError(f"the target's folder {Path(path).parent} does not exist")
    db = None
    try:
        db = open_database(url)
        db.execute("SELECT 1")
    except Exception as problem:
        if db is not None:
            db.close()
        hint = ""
        if "does not exist" in str(problem) and "database" in str(problem):
            hint = " (create it first, empty: createdb, or CREATE DATABASE name)"
        elif text.count("@") > 1:
            hint = " (a password with @, / or : is percent-encoded in a URL, or given in PGPASSWORD)"
        raise CopyError(f"cannot open the {role} {_shown(text)}: {_first_line(problem)}{hint}") from None
    return db


def _first_line(problem: BaseException) -> str:
    original = getattr(problem, "orig", None) or problem
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def _same_database(a: Database, b: Database) -> bool:
    if a.dialect == "sqlite" and b.dialect == "sqlite":
        return a.path is not None and b.path is not None and a.path.resolve() == b.path.resolve()
    return a.url == b.url


# --- versions -----------------------------------------------------------------------------------

def _tables(db: Database) -> set[str]:
    return set(sqlalchemy.inspect(db.engine).get_table_names())


def _applied(db: Database, tables: set[str]) -> tuple[dict[int, str], dict[str, dict[int, str]]]:
    core: dict[int, str] = {}
    plugins: dict[str, dict[int, str]] = {}
    if "schema_migrations" in tables:
        core = {v: n for v, n in db.execute("SELECT version, name FROM schema_migrations")}
    if "plugin_migrations" in tables:
        for plugin, version, name in db.execute("SELECT plugin, version, name FROM plugin_migrations"):
            plugins.setdefault(plugin, {})[version] = name
    return core, plugins


def _check_known(applied: dict[int, str], known: list[tuple], what: str) -> int:
    """The source's version of one migration series, refused unless this code has every step."""
    names = {version: name for version, name, _ in known}
    newest_known = max(names, default=0)
    for version in sorted(applied):
        if version not in names:
            raise CopyError(f"the source's {what} is at version {max(applied)}; this Chasqui knows versions up to "
                            f"{newest_known}: copy with the Chasqui release that wrote it (nothing was changed)")
        if applied[version] != names[version]:
            raise CopyError(f"the source's {what} migration {version} is {applied[version]!r}, here it is "
                            f"{names[version]!r}: not the same schema (nothing was changed)")
    newest = max(applied, default=0)
    missing = sorted(set(range(1, newest + 1)) - set(applied))
    if missing:
        raise CopyError(f"the source's {what} lacks migrations {missing} below its version {newest} (nothing was changed)")
    return newest


def _source_versions(source: Database, tables: set[str]) -> tuple[int, dict[str, tuple[int, list]]]:
    from backend.plugins.registry import PluginError, load_plugins
    from backend.store.migrations import MIGRATIONS

    core, plugins = _applied(source, tables)
    if not core:
        raise CopyError(f"the source {source.url} is not a Chasqui database (no schema_migrations rows)")
    core_version = _check_known(core, MIGRATIONS, "core schema")
    versions = {}
    for name in sorted(plugins):
        try:
            plugin = next(iter(load_plugins((name,)).values()))
        except PluginError:
            raise CopyError(f"the source has the tables of a plug-in named {name!r}, which this Chasqui does not "
                            "have (nothing was changed)") from None
        versions[name] = (_check_known(plugins[name], plugin.migrations, f"plug-in {name}"), plugin.migrations)
    return core_version, versions


def _check_target_empty(target: Database, tables: set[str], core_version: int,
                        plugin_versions: dict[str, tuple[int, list]]) -> None:
    """Refused before anything is written to the target."""
    holding = []
    for table in sorted(tables - set(BOOKKEEPING) - _sqlite_only(target, tables)):
        if target.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None:
            holding.append(f"{table} ({target.execute(f'SELECT COUNT(*) FROM {_q(table)}').fetchone()[0]:,} rows)")
    if holding:
        raise CopyError(f"the target {target.url} already holds data: {', '.join(holding)}. Copy into an empty "
                        "database (a new one, or drop and create this one); nothing was changed")
    core, plugins = _applied(target, tables)
    if core and max(core) > core_version:
        raise CopyError(f"the target's core schema is at version {max(core)}, newer than the source's {core_version}: "
                        "migrate the source first (chasqui db migrate, or start its backend once), or copy into a "
                        "new database; nothing was changed")
    for name, applied in plugins.items():
        if applied and max(applied) > plugin_versions.get(name, (0, []))[0]:
            raise CopyError(f"the target's plug-in {name} is at version {max(applied)}, newer than the source's "
                            f"{plugin_versions.get(name, (0, []))[0]}: copy into a new database; nothing was changed")


def _migrate_target(target: Database, core_version: int, plugin_versions: dict[str, tuple[int, list]]) -> list[int]:
    from backend.store.migrations import MIGRATIONS, migrate

    try:
        applied = migrate(target, [m for m in MIGRATIONS if m[0] <= core_version])
        for name, (version, migrations) in plugin_versions.items():
            migrate(target, [m for m in migrations if m[0] <= version], plugin=name)
    except Exception as problem:
        raise CopyError(f"migrating the target failed: {_first_line(problem)}", exit_code=1) from None
    return applied


# --- the plan -----------------------------------------------------------------------------------

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_only(db: Database, tables: set[str]) -> set[str]:
    """SQLite's FTS5 tables and their shadow tables: each engine indexes the copied rows itself."""
    if db.dialect != "sqlite":
        return set()
    virtual = {name for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
               if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")}
    shadows = {f"{name}_{suffix}" for name in virtual for suffix in FTS5_SHADOWS}
    return virtual | (shadows & tables) | {t for t in tables if t.startswith("sqlite_")}


def _kind(column_type: sqlalchemy.types.TypeEngine) -> str:
    if isinstance(column_type, sqlalchemy.Integer):
        return "int"
    if isinstance(column_type, (sqlalchemy.Float, sqlalchemy.Numeric)):
        return "float"
    if isinstance(column_type, sqlalchemy.LargeBinary):
        return "bytes"
    if isinstance(column_type, sqlalchemy.String):
        return "text"
    return "other"


def _plan(source: Database, target: Database, source_tables: set[str]) -> tuple[list[Table], list[str]]:
    target_tables = _tables(target)
    wanted = source_tables - set(BOOKKEEPING) - _sqlite_only(source, source_tables)
    indexes = sorted(n for n in source_tables - set(BOOKKEEPING) - wanted
                     if not n.startswith("sqlite_") and not n.endswith(tuple(f"_{s}" for s in FTS5_SHADOWS)))
    skipped = [f"{', '.join(indexes)} and their shadow tables (SQLite's full-text indexes: the target indexes "
               "the copied rows itself)"] if indexes else []
    skipped += [f"{name} (not in the target's schema)" for name in sorted(wanted - target_tables)]
    wanted &= target_tables
    source_inspector, target_inspector = sqlalchemy.inspect(source.engine), sqlalchemy.inspect(target.engine)
    tables = {}
    for name in wanted:
        source_columns = {c["name"] for c in source_inspector.get_columns(name) if not c.get("computed")}
        target_columns = [c for c in target_inspector.get_columns(name) if not c.get("computed")]
        names = {c["name"] for c in target_columns}
        if source_columns != names:
            raise CopyError(f"table {name}: the source has columns {sorted(source_columns - names)} the target "
                            f"lacks and lacks {sorted(names - source_columns)}: the schemas differ (was it altered "
                            "by hand?); nothing was copied", exit_code=1)
        columns = [Column(c["name"], _kind(c["type"])) for c in target_columns]
        key = target_inspector.get_pk_constraint(name)["constrained_columns"] or [c.name for c in columns]
        parents = {fk["referred_table"] for fk in target_inspector.get_foreign_keys(name)} & wanted - {name}
        tables[name] = Table(name, columns, key, parents)
    return _parents_first(tables), skipped


def _parents_first(tables: dict[str, Table]) -> list[Table]:
    ordered, placed = [], set()
    while len(ordered) < len(tables):
        ready = sorted(n for n, t in tables.items() if n not in placed and t.parents <= placed)
        # A cycle (none in Chasqui's schema) would leave none ready: its foreign keys are checked
        # only once everything is in, so any order then works.
        for name in ready or [min(set(tables) - placed)]:
            ordered.append(tables[name])
            placed.add(name)
    return ordered


# --- values -------------------------------------------------------------------------------------

def _conversions(table: Table, source: Database, target: Database) -> list[tuple[int, Callable[[Any], Any]]]:
    """What a source row needs to be stored exactly in the target: (column index, function) for the
    columns that need it. PostgreSQL's values already have their column's type; SQLite's are typed
    per value (a BLOB in a TEXT column, text in a BLOB one), so those are made the column's type,
    or refused when that cannot be exact."""
    if source.dialect != "sqlite":
        return []

    def refuse(column: Column, value: Any, why: str) -> CopyError:
        return CopyError(f"table {table.name}, column {column.name}: the value {str(value)[:40]!r} {why}; the "
                         "target was rolled back", exit_code=1)

    def for_int(column: Column) -> Callable[[Any], Any]:
        def convert(value):
            if isinstance(value, float):
                if not value.is_integer():
                    raise refuse(column, value, "is not an integer")
                return int(value)
            return value
        return convert

    def for_bytes(column: Column) -> Callable[[Any], Any]:
        return lambda value: value.encode("utf-8") if isinstance(value, str) else value

    def for_text(column: Column) -> Callable[[Any], Any]:
        nul_refused = target.dialect == "postgresql"

        def convert(value):
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    raise refuse(column, value, "is bytes, not text") from None
            if nul_refused and isinstance(value, str) and "\x00" in value:
                raise refuse(column, value, "holds a NUL character, which PostgreSQL's text cannot")
            return value
        return convert

    makers = {"int": for_int, "bytes": for_bytes, "text": for_text}
    return [(i, makers[c.kind](c)) for i, c in enumerate(table.columns) if c.kind in makers]


def _converted(batch: list[tuple], conversions: list[tuple[int, Callable[[Any], Any]]]) -> list:
    if not conversions:
        return batch
    rows = []
    for row in batch:
        row = list(row)
        for i, convert in conversions:
            if row[i] is not None:
                row[i] = convert(row[i])
        rows.append(row)
    return rows


def _normalizer(column: Column) -> Callable[[Any], Any]:
    """A value as rows that are not equal at first sight are compared again: the column's kind
    decides, so bytes equal bytes whatever buffer type the driver gave, and an integer in a float
    column equals its float only when the float is that very number."""
    def normal(value):
        if isinstance(value, (memoryview, bytearray)):
            return bytes(value)
        if column.kind == "float" and isinstance(value, int) and float(value) == value:
            return float(value)
        if column.kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        if column.kind == "bytes" and isinstance(value, str):
            return value.encode("utf-8")
        return value
    return normal


def _digest(values: tuple) -> bytes:
    # repr: exact for floats (the shortest form that reads back as the same double; -0.0 and nan
    # kept) and keeps types apart (1 and '1', b'a' and 'a').
    return hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=16).digest()


# --- reading ------------------------------------------------------------------------------------

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


# --- writing ------------------------------------------------------------------------------------

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


# --- verifying ----------------------------------------------------------------------------------

def _verify(source: sqlalchemy.Connection, target: sqlalchemy.Connection, source_db: Database, target_db: Database,
            table: Table, size: int, progress: _Progress) -> int:
    """Both sides in key order, batch by batch: the number of rows compared, or a CopyError at the
    first row that differs (by table and key, naming the columns that differ). Rows are first
    compared as the drivers gave them (Python compares an int and a float exactly); rows that are
    not equal so (a nan, a str in a BLOB column) are compared again by a digest of their normalized
    values (`_normalizer`)."""
    normals = [_normalizer(c) for c in table.columns]
    key_at = [[c.name for c in table.columns].index(k) for k in table.key]

    def normal(row: tuple) -> tuple:
        return tuple(n(v) for n, v in zip(normals, row))

    def key(row: tuple) -> str:
        return ", ".join(f"{k}={row[i]!r}" for k, i in zip(table.key, key_at))

    def fail(why: str) -> CopyError:
        return CopyError(f"verification failed in table {table.name}: {why}; the target was rolled back", exit_code=1)

    theirs = _batches(target, _select(target_db, table), size)
    pending: list[tuple] = []
    compared = 0
    try:
        for mine in _batches(source, _select(source_db, table), size):
            while len(pending) < len(mine):
                more = next(theirs, None)
                if more is None:
                    break
                pending += more
            copied, pending = pending[:len(mine)], pending[len(mine):]
            for ours, their in zip(mine, copied):
                if ours == their or _digest(normal(ours)) == _digest(normal(their)):
                    continue
                ours, their = normal(ours), normal(their)
                if [ours[i] for i in key_at] != [their[i] for i in key_at]:
                    raise fail(f"the source's row {key(ours)} is not where expected in the target (found {key(their)})")
                differ = [c.name for c, a, b in zip(table.columns, ours, their) if _digest((a,)) != _digest((b,))]
                raise fail(f"row {key(ours)} differs in {', '.join(differ)}")
            if len(copied) < len(mine):
                raise fail(f"the target lacks the source's row {key(normal(mine[len(copied)]))} and those after it")
            compared += len(mine)
            progress.add(len(mine))
        extra = pending[0] if pending else next((batch[0] for batch in theirs if batch), None)
        if extra is not None:
            raise fail(f"the target has a row the source does not: {key(normal(extra))}")
    finally:
        theirs.close()
    return compared


# --- the copy -----------------------------------------------------------------------------------

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


def _check_sqlite_foreign_keys(connection: sqlalchemy.Connection, where: str) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        listed = "; ".join(f"{table} row {rowid} refers to a missing {parent}" for table, rowid, parent, _ in broken)
        raise CopyError(f"the {where} has rows whose foreign keys point nowhere: {listed}. Fix or delete them "
                        "first; nothing was copied", exit_code=1 if where == "target" else 2)


def copy_database(source_location: str, target_location: str, *, batch_rows: int = BATCH_ROWS,
                  while_running: bool = False, say: Callable[[str], None] | None = None) -> CopyReport:
    """Copy and verify; raise CopyError (nothing kept in the target) on any problem."""
    say = say or (lambda line: print(line, flush=True))
    if batch_rows < 1:
        raise CopyError("the batch size must be at least 1")
    source = _open(source_location, "source")
    new_file = _new_sqlite_file(target_location)
    try:
        target = _open(target_location, "target")
    except CopyError:
        source.close()
        raise
    try:
        if _same_database(source, target):
            raise CopyError("the source and the target are the same database")
        return _copy(source, target, batch_rows, while_running, say)
    except BaseException:
        if new_file is not None:  # a file this copy created goes too: nothing is left behind
            target.close()
            for leftover in (new_file, Path(f"{new_file}-wal"), Path(f"{new_file}-shm")):
                leftover.unlink(missing_ok=True)
        raise
    finally:
        source.close()
        target.close()


def _new_sqlite_file(location: str) -> Path | None:
    """The SQLite file `location` names, if it does not exist yet."""
    text = location.strip()
    if "://" in text and not text.lower().startswith("sqlite:"):
        return None
    path = make_url(database_url(text)).database
    return Path(path) if path and path != ":memory:" and not Path(path).exists() else None


def _copy(source: Database, target: Database, batch_rows: int, while_running: bool,
          say: Callable[[str], None]) -> CopyReport:
    say(f"Copying {source.url} to {target.url}")
    say(ADVICE)
    source_tables = _tables(source)
    core_version, plugin_versions = _source_versions(source, source_tables)
    plugins_said = ", ".join(f"{name} {version}" for name, (version, _) in plugin_versions.items()) or "none"
    say(f"source: core schema version {core_version}; plug-ins: {plugins_said}")
    _check_target_empty(target, _tables(target), core_version, plugin_versions)
    applied = _migrate_target(target, core_version, plugin_versions)
    say(f"target migrated: core schema version {core_version}"
        + (f" (applied {applied[0]}-{applied[-1]})" if applied else "") + f"; plug-ins: {plugins_said}")
    tables, skipped = _plan(source, target, source_tables)
    if skipped:
        say(f"not copied: {', '.join(skipped)}")
    report = CopyReport(source.url, target.url, tables, skipped, core_version,
                        {name: version for name, (version, _) in plugin_versions.items()}, {})
    with source.engine.connect() as reading, target.engine.connect() as writing:
        version_before = _data_version(reading) if source.dialect == "sqlite" else None
        _begin_snapshot(reading, source)
        if source.dialect == "sqlite":
            _check_sqlite_foreign_keys(reading, "source")
        for table in tables:
            table.rows = reading.exec_driver_sql(f"SELECT COUNT(*) FROM {_q(table.name)}").fetchone()[0]
        say(f"{len(tables)} tables, {report.rows:,} rows to copy, in batches of {batch_rows:,}")
        _begin_writing(writing, target)
        try:
            _load(reading, writing, source, target, tables, batch_rows, report, say)
            say("verifying: every row of every table, source against target")
            for table in tables:
                started = time.monotonic()
                checked = _verify(reading, writing, source, target, table, batch_rows, _Progress(say, table, "verified"))
                if checked != table.rows:
                    raise CopyError(f"verification failed in table {table.name}: {checked:,} rows read, "
                                    f"{table.rows:,} counted; the target was rolled back", exit_code=1)
                table.verify_s = time.monotonic() - started
                say(f"  {table.name:<28} {table.rows:>12,} rows verified {table.verify_s:8.1f} s")
            report.snapshot_only = _source_changed(reading, source, tables, version_before)
            if report.snapshot_only and not while_running:
                raise CopyError("the source changed while it was copied (is a backend still running on it?): the "
                                "target was rolled back. Stop every backend and run the copy again", exit_code=1)
            writing.exec_driver_sql("COMMIT")
        except BaseException:
            _roll_back(writing)
            raise
    if target.dialect == "postgresql":
        try:
            for table in tables:  # fresh planner statistics for the backend's first queries
                target.execute(f"ANALYZE {_q(table.name)}")
        except Exception as problem:  # the copy is committed and verified: only worth a word
            say(f"note: ANALYZE failed ({_first_line(problem)}); autovacuum will gather the statistics later")
    return report


def _begin_writing(connection: sqlalchemy.Connection, db: Database) -> None:
    if db.dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # checked before COMMIT
    else:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.exec_driver_sql("BEGIN")
        # Backends started on the target meanwhile wait for their writes (database.transaction).
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK_KEY})")


def _roll_back(connection: sqlalchemy.Connection) -> None:
    try:
        connection.exec_driver_sql("ROLLBACK")
    except Exception:
        connection.invalidate()  # a broken connection: the server rolls back when it goes


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


def _source_changed(reading, source: Database, tables: list[Table], version_before: int | None) -> bool:
    """Ends the snapshot; true when something wrote to the source since it began."""
    reading.exec_driver_sql("ROLLBACK")
    if source.dialect == "sqlite":
        return _data_version(reading) != version_before
    # PostgreSQL: rows added or removed (an update in place is not seen: stop the backend first).
    return any(reading.exec_driver_sql(f"SELECT COUNT(*) FROM {_q(t.name)}").fetchone()[0] != t.rows for t in tables)


def summary(report: CopyReport) -> str:
    width = max([len(t.name) for t in report.tables] + [5])
    lines = [f"{'table':<{width}} {'rows':>12} {'copy s':>8} {'rows/s':>9} {'verify s':>9}"]

    def line(name: str, rows: int, copy_s: float, verify_s: float) -> str:
        rate = f"{rows / copy_s:,.0f}" if rows and copy_s >= 0.05 else ""
        return f"{name:<{width}} {rows:>12,} {copy_s:>8.1f} {rate:>9} {verify_s:>9.1f}"

    for table in report.tables:
        lines.append(line(table.name, table.rows, table.copy_s, table.verify_s))
    lines.append(line("total", report.rows, sum(t.copy_s for t in report.tables),
                      sum(t.verify_s for t in report.tables)))
    if report.index_s:
        lines.append(f"indexes and foreign keys built after the load: {report.index_s:.1f} s")
    lines.append(f"{report.target}: {report.rows:,} rows in {len(report.tables)} tables, every one verified; "
                 f"schema version {report.core_version}"
                 + "".join(f", {name} {version}" for name, version in report.plugin_versions.items()))
    if report.snapshot_only:
        lines.append("WARNING: the source changed during the copy (--while-running): the target holds the source "
                     "as it was when the copy began")
    else:
        lines.append("Next: point BACKEND_DATABASE_URL at the target and start the backend.")
    return "\n".join(lines)

