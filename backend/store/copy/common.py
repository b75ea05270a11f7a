"""What every step of `chasqui db copy` shares: its error, the tables of its plan and its report;
a name quoted for SQL, a problem's first line."""
from __future__ import annotations

from dataclasses import dataclass, field


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(problem: BaseException) -> str:
    original = getattr(problem, "orig", None) or problem
    return (str(original).strip().splitlines() or [type(original).__name__])[0]
