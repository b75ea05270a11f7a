"""Which tables are copied, with which columns, in which order: every table both sides have (not
SQLite's full-text index tables: the target's engine indexes the copied rows itself; not the
bookkeeping the migrations filled; not generated columns such as alerts.priority), parents before
children."""
from __future__ import annotations

import sqlalchemy

from backend.store.copy.common import Column, CopyError, Table
from backend.store.database import Database

BOOKKEEPING = ("schema_migrations", "plugin_migrations")  # filled by migrating the target
FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")


def _tables(db: Database) -> set[str]:
    return set(sqlalchemy.inspect(db.engine).get_table_names())


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
