"""The audit log: every officer action (take over, reply, hand back, alert, edit, erase...) with
who and when. Written in the same transaction as the action, so the log never misses one that
happened nor shows one that did not. `target` names what was acted on without personal data
(never a phone): a deleted contact's entries stay, anonymous (contact_id becomes NULL)."""
from __future__ import annotations

from backend.store.database import Database, now

MAX_DETAIL_CHARS = 300


def record(connection: Database, officer: str, action: str, target: str | None = None,
           contact_id: int | None = None, detail: str | None = None) -> int:
    new_id = connection.insert(
        "INSERT INTO audit_log (officer, action, target, contact_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (officer, action, target, contact_id, (detail or None) and detail[:MAX_DETAIL_CHARS], now()))
    return new_id
