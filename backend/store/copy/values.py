"""Values on their way and under comparison: what a source row needs to be stored exactly in the
target, and how rows that are not equal at first sight are compared again (normalized, then by
a digest)."""
from __future__ import annotations

import hashlib
from typing import Any, Callable

from backend.store.copy.common import Column, CopyError, Table
from backend.store.database import Database


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
