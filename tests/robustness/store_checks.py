"""Nothing half-written: after every request the store is intact, and a refused request left
no row behind in any table. `connection` is the backend's Database (SQLite or PostgreSQL) or the
bridge's own sqlite3 inbox."""
from __future__ import annotations

from tests.robustness.harness import Sent


def _on_postgresql(connection) -> bool:
    return getattr(connection, "dialect", "sqlite") == "postgresql"


def tables(connection) -> list[str]:
    """Every table, FTS indexes and their shadow tables included (SQLite): a half-indexed message
    is half-written too."""
    if _on_postgresql(connection):
        return [row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
    return [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def row_counts(connection) -> dict[str, int]:
    return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables(connection)}


def assert_intact(connection, after: Sent | None = None) -> None:
    if _on_postgresql(connection):
        return  # PostgreSQL checks every constraint and foreign key as each statement runs
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    assert problems == ["ok"], f"integrity_check {problems} after {after}"
    orphans = connection.execute("PRAGMA foreign_key_check").fetchall()
    assert not orphans, f"rows pointing at nothing {orphans} after {after}"


def assert_nothing_added(before: dict[str, int], after: dict[str, int], sent: Sent,
                         may_write: frozenset[str] = frozenset()) -> None:
    """A refused request wrote no row, except in the tables `may_write` names (a refusal that is
    itself worth recording, e.g. a wrong admin password for the login throttle)."""
    added = {name: (before.get(name, 0), count) for name, count in after.items()
             if count != before.get(name, 0) and name not in may_write}
    assert not added, f"a refused request changed row counts {added}: {sent}"
