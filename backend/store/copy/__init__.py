"""`chasqui db copy SOURCE TARGET`: a whole deployment's database onto another engine (SQLite to
PostgreSQL, the move this was written for; also PostgreSQL to SQLite, SQLite to SQLite and
PostgreSQL to PostgreSQL), verified row by row before the target keeps any of it.

What it does, in order (the module named says how):
1. Refuses a source this code cannot copy, or a target that is not empty (versions.py).
2. Migrates the target up to exactly the source's versions (versions.py).
3. In one transaction on the target, copies every table both have (plan.py), parents before
   children, read from one snapshot of the source (transactions.py, read.py), in batches (load.py).
4. Still inside that transaction, compares every row, source against target (verify.py).
5. Checks that the source did not change while it was read, and only then commits (transactions.py).

A failure after step 2 leaves the target migrated but empty, so the same command can run again.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from backend.store.copy.common import Column, CopyError, CopyReport, Table, _first_line, _q
from backend.store.copy.load import _load
from backend.store.copy.locations import _new_sqlite_file, _open, _same_database
from backend.store.copy.plan import _plan, _tables
from backend.store.copy.read import _Progress
from backend.store.copy.transactions import (_begin_snapshot, _begin_writing, _check_sqlite_foreign_keys,
                                             _data_version, _roll_back, _source_changed)
from backend.store.copy.verify import _verify
from backend.store.copy.versions import _check_target_empty, _migrate_target, _source_versions
from backend.store.database import Database

__all__ = ["BATCH_ROWS", "Column", "CopyError", "CopyReport", "Table", "copy_database", "summary"]

BATCH_ROWS = 5000
ADVICE = ("Stop the backend first (every gunicorn worker, on every machine) and keep it stopped until the copy "
          "is done and BACKEND_DATABASE_URL points at the target. The source is read from one snapshot; if "
          "anything writes to it meanwhile the copy is rolled back (--while-running keeps the snapshot instead, "
          "for a rehearsal: what was written after it is not in the target).")


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
