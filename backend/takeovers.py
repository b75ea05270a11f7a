"""Human takeover: a conversation asks for a person, an officer takes it, the bot is silent for
that contact until it is handed back (or the officer has been silent for `idle_s`).

One open takeover per contact (a partial unique index): 'waiting' until an officer takes it,
then 'taken' by exactly one officer, then 'returned'. What the user must hear (a person attends
now, the bot is back) and everything the officer writes go out through the alert queue
(alerts.queue_outbound), so they get its leases, retries, delivery statuses and the 24-hour
window's template fallback. The officer's replies are ordinary 'out' messages (source 'officer'),
so they are part of the conversation's memory like any other reply.
"""
from __future__ import annotations

from backend import audit
from backend.alerts.repository import MAX_MESSAGE_CHARS, queue_outbound
from backend.plugins.base import ScheduledJob
from backend.store.database import Database, now, transaction

REASONS = ("asked", "not_understood", "bad_rating", "officer")
TAKEN_NOTICE = ("👤 Una persona del equipo te está atendiendo ahora por este chat. El asistente automático "
                "no responderá mientras tanto.")
RETURNED_NOTICE = ("🤖 Te dejo de nuevo con Chasqui, el asistente automático. Si necesitas otra vez a una "
                   "persona, escribe «asesor».")
RETURNED_BY_SILENCE = "silence"


class TakeoverProblem(Exception):
    """An officer's action that cannot happen as asked; the message says why (shown in the panel)."""


class HeldByAnother(TakeoverProblem):
    def __init__(self, officer: str):
        super().__init__(f"{officer} is attending this conversation")
        self.officer = officer


def request(connection: Database, contact_id: int, reason: str, message_id: int | None = None) -> int:
    """Put the conversation in the officers' inbox; the open takeover's id (an existing one is kept)."""
    if reason not in REASONS:
        raise ValueError(f"unknown takeover reason {reason!r}")
    existing = open_takeover(connection, contact_id)
    if existing is not None:
        return existing["id"]
    at = now()
    return connection.insert(
        "INSERT INTO takeovers (contact_id, reason, message_id, status, requested_at, last_activity_at) "
        "VALUES (?, ?, ?, 'waiting', ?, ?)", (contact_id, reason, message_id, at, at))


def open_takeover(connection: Database, contact_id: int) -> dict | None:
    return _one(connection, "SELECT * FROM takeovers WHERE contact_id = ? AND status != 'returned'", (contact_id,))


def holder(connection: Database, contact_id: int, idle_s: float) -> str | None:
    """The officer attending this contact now, or None (the bot answers). A takeover whose officer
    has been silent for `idle_s` goes back to the bot here, at the user's next message."""
    takeover = open_takeover(connection, contact_id)
    if takeover is None or takeover["status"] != "taken":
        return None
    if takeover["last_activity_at"] < now() - idle_s:
        _return(connection, takeover, RETURNED_BY_SILENCE)
        return None
    return takeover["officer"]


def take(connection: Database, takeover_id: int, officer: str) -> dict:
    """The officer holds it from now on; the user is told once. Taking one's own again is a no-op."""
    takeover = _existing(connection, takeover_id)
    if takeover["status"] == "returned":
        raise TakeoverProblem("this conversation was already handed back to the bot")
    if takeover["status"] == "taken":
        if takeover["officer"] != officer:
            raise HeldByAnother(takeover["officer"])
        return takeover
    at = now()
    # The status in the WHERE: of two officers taking at once, one update wins, the other sees who.
    taken = connection.execute("UPDATE takeovers SET status = 'taken', officer = ?, taken_at = ?, last_activity_at = ? "
                               "WHERE id = ? AND status = 'waiting'", (officer, at, at, takeover_id)).rowcount
    if not taken:
        return take(connection, takeover_id, officer)
    _tell(connection, takeover["contact_id"], TAKEN_NOTICE)
    audit.record(connection, officer, "take_over", f"takeover {takeover_id}", takeover["contact_id"],
                 f"reason: {takeover['reason']}")
    return _existing(connection, takeover_id)


def start(connection: Database, contact_id: int, officer: str) -> dict:
    """An officer takes a conversation nobody asked for (from the conversation's page)."""
    return take(connection, request(connection, contact_id, "officer"), officer)


def reply(connection: Database, takeover_id: int, officer: str, text: str) -> int:
    """The officer's message to the user: stored, queued for the phone; its message id."""
    text = (text or "").strip()
    if not text:
        raise TakeoverProblem("write a message first")
    if len(text) > MAX_MESSAGE_CHARS:
        raise TakeoverProblem(f"a WhatsApp message has at most {MAX_MESSAGE_CHARS} characters")
    takeover = _held_by(connection, takeover_id, officer)
    at = now()
    message_id = connection.insert(
        "INSERT INTO messages (contact_id, direction, body, source, officer, created_at) "
        "VALUES (?, 'out', ?, 'officer', ?, ?)", (takeover["contact_id"], text, officer, at))
    queue_outbound(connection, takeover["contact_id"], text, "reply", message_id)
    connection.execute("UPDATE takeovers SET last_activity_at = ? WHERE id = ?", (at, takeover_id))
    audit.record(connection, officer, "reply", f"takeover {takeover_id}", takeover["contact_id"],
                 f"{len(text)} characters")
    return message_id


def hand_back(connection: Database, takeover_id: int, officer: str) -> None:
    """Back to the bot; the user is told. A waiting one can be closed too (nothing to attend)."""
    takeover = _existing(connection, takeover_id)
    if takeover["status"] == "returned":
        return
    if takeover["status"] == "taken" and takeover["officer"] != officer:
        raise HeldByAnother(takeover["officer"])
    _return(connection, takeover, officer)
    audit.record(connection, officer, "hand_back" if takeover["status"] == "taken" else "close_request",
                 f"takeover {takeover_id}", takeover["contact_id"])


def return_idle(connection: Database, idle_s: float) -> int:
    """Every takeover whose officer has been silent for `idle_s` goes back to the bot (a job)."""
    rows = list(connection.query("SELECT * FROM takeovers WHERE status = 'taken' AND last_activity_at < ?",
                                 (now() - idle_s,)))
    for takeover in rows:
        _return(connection, takeover, RETURNED_BY_SILENCE)
    return len(rows)


def _return(connection: Database, takeover: dict, returned_by: str) -> None:
    connection.execute("UPDATE takeovers SET status = 'returned', returned_at = ?, returned_by = ? WHERE id = ?",
                       (now(), returned_by, takeover["id"]))
    if takeover["status"] == "taken":  # only who was told a person attends hears that the bot is back
        _tell(connection, takeover["contact_id"], RETURNED_NOTICE)


def _tell(connection: Database, contact_id: int, text: str) -> None:
    message_id = connection.insert(
        "INSERT INTO messages (contact_id, direction, body, source, created_at) VALUES (?, 'out', ?, 'notice', ?)",
        (contact_id, text, now()))
    queue_outbound(connection, contact_id, text, "notice", message_id)


def _held_by(connection: Database, takeover_id: int, officer: str) -> dict:
    takeover = _existing(connection, takeover_id)
    if takeover["status"] != "taken":
        raise TakeoverProblem("take the conversation over first")
    if takeover["officer"] != officer:
        raise HeldByAnother(takeover["officer"])
    return takeover


def _existing(connection: Database, takeover_id: int) -> dict:
    takeover = _one(connection, "SELECT * FROM takeovers WHERE id = ?", (takeover_id,))
    if takeover is None:
        raise TakeoverProblem(f"there is no takeover {takeover_id}")
    return takeover


def _one(connection: Database, sql: str, params: tuple) -> dict | None:
    cursor = connection.execute(sql, params)
    row = cursor.fetchone()
    return None if row is None else dict(zip((c[0] for c in cursor.description), row))


def takeover_job(idle_s: float) -> ScheduledJob:
    """Every minute: conversations whose officer went silent go back to the bot (and the user is
    told), even when the user does not write again."""
    def run(db) -> None:
        with transaction(db) as connection:
            return_idle(connection, idle_s)
    return ScheduledJob("return_idle_takeovers", 60.0, run)
