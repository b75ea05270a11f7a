"""The verification, still inside the target's transaction: both sides read again in key order,
batch by batch, and every row compared: its values as the drivers give them (numbers exactly,
text and bytes whole), and a row that is not equal so again by a digest of its normalized values.
The first differing row is reported by table and key, with its differing columns, and the target
is rolled back."""
from __future__ import annotations

import sqlalchemy

from backend.store.copy.common import CopyError, Table
from backend.store.copy.read import _batches, _Progress, _select
from backend.store.copy.values import _digest, _normalizer
from backend.store.database import Database


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
