"""Alerts: created for one contact or a filtered group, handed to bridges under a lease,
retried with exponential backoff, given up after a number of attempts.

Delivery is at least once: a bridge that dies mid-send loses its lease and another bridge (or the
same one, later) gets the alert again. Two bridges polling at once never claim the same alert:
on SQLite every read-then-write runs under BEGIN IMMEDIATE (one writer); on PostgreSQL, where
bridges may poll several backend processes on several machines, each read-then-write locks the
rows it reads instead of taking the global writers' lock. A claim takes the most urgent due rows
no other claim holds (FOR UPDATE SKIP LOCKED), so concurrent claims neither wait on each other
nor overlap; a report (sent, failed, released, delivered) locks its one row (FOR UPDATE), so it
waits for a claim holding that row and then sees what the claim wrote.
"""
from __future__ import annotations

import json
import math
import re
import secrets
import uuid
from typing import Any


from backend.store.database import Database, now, transaction

LEVELS = ("baja", "media", "alta")
MAX_MESSAGE_CHARS = 4096  # WhatsApp's limit for one text message
MAX_ERROR_CHARS = 500
MAX_BACKOFF_S = 3600.0
# Profile keys end up inside a JSON path ('$.<key>'), which cannot be a bound parameter.
_PROFILE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_ALERT_COLUMNS = ("id, contact_id, message, level, status, attempts, next_attempt_at, lease_until, "
                  "lease_token, last_error, broadcast, created_at, sent_at, provider_message_id, "
                  "delivery_status, delivery_error, delivery_updated_at")
DELIVERY_STATUSES = ("sent", "delivered", "read", "failed")


class InvalidAlert(ValueError):
    """Input that cannot become an alert; `field` names the offending field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class ContactNotFound(LookupError):
    pass


class AlertNotFound(LookupError):
    pass


class LeaseMismatch(Exception):
    """The caller's lease is not the alert's current one (it expired and the alert was handed on)."""


class AlertAlreadySent(Exception):
    pass


# --- creating -----------------------------------------------------------------------------------

def create_alert(db: Database, contact_id: int, message: str, level: str,
                 broadcast: str | None = None, image: bytes | None = None) -> int:
    with transaction(db) as connection:
        return add_alert(connection, contact_id, message, level, image, broadcast)


def add_alert(connection: Database, contact_id: int, message: str, level: str,
              image: bytes | None = None, broadcast: str | None = None) -> int:
    """create_alert inside the caller's transaction (a plug-in job writing its own rows with it).
    `image` is PNG bytes sent with the message as its caption."""
    validate_content(message, level)
    if image is not None and not image.startswith(b"\x89PNG"):
        raise InvalidAlert("'image' must be a PNG", "image")
    _require_contact(connection, contact_id)
    return _insert_alert(connection, contact_id, message, level, broadcast, now(), image)


def queue_outbound(connection: Database, contact_id: int, message: str, kind: str,
                   message_id: int | None = None, document: tuple[str, str, bytes] | None = None) -> int:
    """An officer's reply, a notice about a takeover, or a file (`document`: name, type, bytes),
    through the alerts' queue: leased, retried, reported, the 24-hour window respected. Urgent:
    a person is waiting for it. `message_id` is its row in `messages`, which shows its delivery."""
    if kind not in OUTBOUND_KINDS:
        raise InvalidAlert(f"'kind' must be one of {', '.join(OUTBOUND_KINDS)}", "kind")
    if (kind == "document") != (document is not None):
        raise InvalidAlert("a document, and only a document, carries a file", "document")
    validate_content(message, "alta")
    _require_contact(connection, contact_id)
    name, mime_type, data = document or (None, None, None)
    at = now()
    new_id = connection.insert(
        "INSERT INTO alerts (contact_id, message, level, status, attempts, next_attempt_at, created_at, kind, "
        "message_id, document_name, document_type, document) VALUES (?, ?, 'alta', 'pending', 0, ?, ?, ?, ?, ?, ?, ?)",
        (contact_id, message, at, at, kind, message_id, name, mime_type, data))
    return new_id


OUTBOUND_KINDS = ("reply", "notice", "document")


def _require_contact(connection: Database, contact_id: int) -> None:
    if connection.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone() is None:
        raise ContactNotFound(f"no contact with id {contact_id}")


def create_broadcast(db: Database, message: str, level: str, domain: str | None = None,
                     profile_filters: dict[str, Any] | None = None) -> tuple[str, list[int]]:
    """One alert per contact that matches; contacts who opted out are skipped. All or nothing."""
    with transaction(db) as connection:
        return add_broadcast(connection, message, level, domain, profile_filters)


def add_broadcast(connection: Database, message: str, level: str, domain: str | None = None,
                  profile_filters: dict[str, Any] | None = None) -> tuple[str, list[int]]:
    """create_broadcast inside the caller's transaction (the panel writes its audit entry in it)."""
    validate_content(message, level)
    where, params = _broadcast_conditions(connection.dialect, domain, profile_filters or {})
    broadcast_id, created_at = uuid.uuid4().hex, now()
    # Matching inside the transaction: the group is the one that exists when the alerts are written.
    contact_ids = [row[0] for row in connection.execute(
        "SELECT c.id FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id "
        f"WHERE {where} ORDER BY c.id", params)]
    return broadcast_id, [_insert_alert(connection, contact_id, message, level, broadcast_id, created_at)
                          for contact_id in contact_ids]


def contact_id_for_phone(db: Database, phone: str) -> int | None:
    row = db.execute("SELECT id FROM contacts WHERE phone = ?", (phone,)).fetchone()
    return row[0] if row else None


def validate_content(message: object, level: object) -> None:
    """Raises InvalidAlert naming the field when the message or level cannot be sent."""
    if not isinstance(message, str) or not message.strip():
        raise InvalidAlert("'message' must be a non-empty string", "message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidAlert(f"'message' must be at most {MAX_MESSAGE_CHARS} characters, got {len(message)}",
                           "message")
    if level not in LEVELS:
        raise InvalidAlert(f"'level' must be one of {', '.join(LEVELS)}; got {level!r}", "level")


def _broadcast_conditions(dialect: str, domain: str | None, profile_filters: dict[str, Any]) -> tuple[str, list]:
    conditions, params = ["c.opted_out = 0"], []
    if domain is not None:
        if not isinstance(domain, str) or not domain.strip():
            raise InvalidAlert("'domain' must be a non-empty string", "domain")
        conditions.append("c.domain = ?")
        params.append(domain.strip())
    for key, value in profile_filters.items():
        if not isinstance(key, str) or not _PROFILE_KEY.match(key):
            raise InvalidAlert(f"filter key {key!r} must be a simple name (letters, digits, _)", key)
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidAlert(f"filter {key!r} must be a finite number", key)  # JSON has no NaN
        if value is not None and not isinstance(value, (str, bool, int, float)):
            raise InvalidAlert(f"filter {key!r} must be a string, number, boolean or null", key)
        condition, value_params = (_sqlite_profile_condition if dialect == "sqlite"
                                   else _postgresql_profile_condition)(key, value)
        conditions.append(condition)
        params.extend(value_params)
    return " AND ".join(conditions), params


def _sqlite_profile_condition(key: str, value: str | bool | int | float | None) -> tuple[str, list]:
    path = f"json_extract(p.data, '$.{key}')"
    if value is None:
        return f"{path} IS NULL", []
    if isinstance(value, str):
        # fold (the database's, backend/store/database.py), not lower(): SQLite's lower() leaves
        # 'MAÍZ' as 'maÍz'; accents folded too, so "maíz" matches a profile "maiz".
        return f"fold({path}) = fold(?)", [value]
    return f"{path} = ?", [value]  # JSON true/false come out as 1/0, as do Python's bools


def _postgresql_profile_condition(key: str, value: str | bool | int | float | None) -> tuple[str, list]:
    """What json_extract does on SQLite: a missing key and JSON null are both null; strings
    compare folded; numbers and booleans compare as JSON values (1 = 1.0, but true is not 1)."""
    if value is None:
        return f"(p.data::jsonb ->> '{key}') IS NULL", []  # ->> gives SQL NULL for JSON null too
    if isinstance(value, str):
        # Only a JSON string, as on SQLite (->> would also turn the number 5 into the text '5').
        return (f"jsonb_typeof(p.data::jsonb -> '{key}') = 'string' "
                f"AND fold(p.data::jsonb ->> '{key}') = fold(?)"), [value]
    return f"(p.data::jsonb -> '{key}') = CAST(? AS jsonb)", [json.dumps(value)]


def _insert_alert(connection: Database, contact_id: int, message: str, level: str,
                  broadcast: str | None, created_at: float, image: bytes | None = None) -> int:
    new_id = connection.insert(
        "INSERT INTO alerts (contact_id, message, level, status, attempts, next_attempt_at, broadcast, created_at, "
        "image) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
        (contact_id, message, level, created_at, broadcast, created_at, image))
    return new_id


# --- handing out ----------------------------------------------------------------------------------

def claim_due(db: Database, limit: int, lease_s: float, max_attempts: int, channel: str = "") -> list[dict]:
    """Lease up to `limit` due alerts, most urgent first. Each gets a fresh lease token; an alert whose
    lease expired is due again (its bridge is presumed dead) unless it has used all its attempts.
    `channel` (a bridge's business number): only alerts to contacts who last wrote to that number,
    or to no number yet; WhatsApp refuses a free-form message from a number whose 24-hour window
    with the person is not open, so another number's bridge must not take them."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    # PostgreSQL: not the writers' lock; the rows taken are locked by the statement that reads them.
    with transaction(db, serialized=False) as connection:
        at = now()
        _give_up_expired(connection, at, max_attempts)
        due_ids = []
        mine = (channel,) if channel else ()
        for alert_id, opted_out in connection.execute(_due_in_order(connection.dialect, bool(channel)),
                                                      (at, *mine, limit, at, max_attempts, *mine, limit, limit)):
            if opted_out:  # the contact opted out after the alert was queued: close it, visibly
                connection.execute("UPDATE alerts SET status = 'failed', lease_until = NULL, lease_token = NULL, "
                                   "last_error = 'contact opted out' WHERE id = ?", (alert_id,))
            else:
                due_ids.append(alert_id)
        return [_claim(connection, alert_id, at + lease_s) for alert_id in due_ids]


# Pending-and-due and expired-lease alerts, most urgent first; each half reads its own partial index
# and stops at the limit. On PostgreSQL each half locks the rows it reads and skips those another
# transaction holds; a row another claim took after this statement began is read again at its
# newest version, no longer matches, and is passed over. While leases have expired, a claim may
# lock up to `limit` rows more than it hands out: those stay due and are free at its commit.
_DUE_IN_ORDER_SQL = """
SELECT due.id, c.opted_out FROM (
    SELECT * FROM (SELECT id, contact_id, priority, next_attempt_at FROM alerts
                   WHERE status = 'pending' AND next_attempt_at <= ?{channel}
                   ORDER BY priority, next_attempt_at, id LIMIT ?{lock}) AS pending
    UNION ALL
    SELECT * FROM (SELECT id, contact_id, priority, next_attempt_at FROM alerts
                   WHERE status = 'claimed' AND lease_until < ? AND attempts < ?{channel}
                   ORDER BY priority, next_attempt_at, id LIMIT ?{lock}) AS expired
) AS due JOIN contacts c ON c.id = due.contact_id
ORDER BY due.priority, due.next_attempt_at, due.id LIMIT ?
"""
# One contact's row by its key per alert walked: the walk in hand-out order stays as it is.
_OF_CHANNEL = (" AND EXISTS (SELECT 1 FROM contacts mine WHERE mine.id = alerts.contact_id "
               "AND (mine.channel = ? OR mine.channel IS NULL))")
_DUE_IN_ORDER = {(dialect, by_channel): _DUE_IN_ORDER_SQL.format(lock=lock, channel=_OF_CHANNEL if by_channel else "")
                 for dialect, lock in (("sqlite", ""), ("postgresql", " FOR UPDATE SKIP LOCKED"))
                 for by_channel in (False, True)}


def _due_in_order(dialect: str, by_channel: bool) -> str:
    return _DUE_IN_ORDER[dialect, by_channel]


def _give_up_expired(connection: Database, at: float, max_attempts: int) -> None:
    expired = "status = 'claimed' AND lease_until < ? AND attempts >= ?"
    if connection.dialect == "postgresql":  # rows another transaction holds are its to decide
        expired = f"id IN (SELECT id FROM alerts WHERE {expired} FOR UPDATE SKIP LOCKED)"
    connection.execute(
        "UPDATE alerts SET status = 'failed', lease_until = NULL, lease_token = NULL, "
        f"last_error = 'gave up after ' || attempts || ' attempts; lease expired' WHERE {expired}",
        (at, max_attempts))


def _claim(connection: Database, alert_id: int, lease_until: float) -> dict:
    connection.execute(
        "UPDATE alerts SET status = 'claimed', lease_until = ?, lease_token = ?, attempts = attempts + 1 "
        "WHERE id = ?", (lease_until, secrets.token_hex(8), alert_id))
    claimed = _one(connection, "SELECT a.id, c.phone, a.message, a.level, a.lease_token, a.attempts, a.kind, "
                               "a.image IS NOT NULL AS has_image, a.document_name, a.document_type "
                               "FROM alerts a JOIN contacts c ON c.id = a.contact_id WHERE a.id = ?", (alert_id,))
    if claimed.pop("has_image"):
        claimed["image_url"] = f"/alerts/{alert_id}/image"  # relative to the backend; needs the token
    if claimed["document_name"] is not None:
        claimed["document_url"] = f"/alerts/{alert_id}/document"
    else:
        del claimed["document_name"], claimed["document_type"]
    return claimed


def alert_image(db: Database, alert_id: int) -> bytes:
    row = db.execute("SELECT image FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None or row[0] is None:
        raise AlertNotFound(f"alert {alert_id} has no image")
    return row[0]


def alert_document(db: Database, alert_id: int) -> tuple[str, str, bytes]:
    """(name, type, bytes) of the file an outbound item carries."""
    row = db.execute("SELECT document_name, document_type, document FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None or row[2] is None:
        raise AlertNotFound(f"alert {alert_id} has no document")
    return row[0], row[1], row[2]


# --- reports from bridges -----------------------------------------------------------------------

def mark_sent(db: Database, alert_id: int, lease_token: str | None = None,
              provider_message_id: str | None = None) -> dict:
    """Idempotent: a bridge that retries its report after a timeout gets the same answer.
    `provider_message_id` (WhatsApp's id) lets later delivery reports find the alert."""
    with transaction(db, serialized=False) as connection:
        alert = _existing_alert(connection, alert_id, for_update=True)
        if alert["status"] == "sent":
            return alert
        _check_lease(alert, lease_token)
        connection.execute(
            "UPDATE alerts SET status = 'sent', sent_at = ?, lease_until = NULL, lease_token = NULL, "
            "provider_message_id = ?, delivery_status = COALESCE(delivery_status, 'sent') WHERE id = ?",
            (now(), provider_message_id, alert_id))
        return _alert(connection, alert_id)


def release(db: Database, alert_id: int, lease_token: str | None = None) -> dict:
    """A bridge hands back an alert it claimed but will not send (it is shutting down): due again
    at once, and the claim does not count as an attempt."""
    with transaction(db, serialized=False) as connection:
        alert = _existing_alert(connection, alert_id, for_update=True)
        if alert["status"] == "sent":
            raise AlertAlreadySent(f"alert {alert_id} was already sent")
        _check_lease(alert, lease_token)
        if alert["status"] == "claimed":
            # CASE, not MAX(a, b): PostgreSQL's MAX is only the aggregate.
            connection.execute("UPDATE alerts SET status = 'pending', lease_until = NULL, lease_token = NULL, "
                               "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
                               "next_attempt_at = ? WHERE id = ?", (now(), alert_id))
        return _alert(connection, alert_id)


# Statuses only move forward; WhatsApp may deliver its webhooks out of order.
_DELIVERY_ORDER = {None: 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def record_delivery(db: Database, provider_message_id: str, status: str,
                    error: str | None = None) -> dict:
    """A provider's report on an alert it accepted. Raises AlertNotFound when the id belongs to no
    alert (most statuses are about chat replies, which are not alerts)."""
    if status not in DELIVERY_STATUSES:
        raise InvalidAlert(f"'status' must be one of {', '.join(DELIVERY_STATUSES)}", "status")
    with transaction(db, serialized=False) as connection:
        alert = _one(connection, f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE provider_message_id = ?"
                     f"{_row_lock(connection)}", (provider_message_id,))
        if alert is None:
            raise AlertNotFound(f"no alert was sent as provider message {provider_message_id!r}")
        if _DELIVERY_ORDER[status] > _DELIVERY_ORDER.get(alert["delivery_status"], 0):
            connection.execute("UPDATE alerts SET delivery_status = ?, delivery_error = ?, delivery_updated_at = ? "
                               "WHERE id = ?", (status, (error or None) and error[:MAX_ERROR_CHARS], now(), alert["id"]))
        return _alert(connection, alert["id"])


def has_due(db: Database) -> bool:
    """A cheap read (no write lock) for long-polling bridges: is anything ready to hand out?"""
    at = now()
    return db.execute("SELECT EXISTS (SELECT 1 FROM alerts WHERE status = 'pending' AND next_attempt_at <= ?) "
                      "OR EXISTS (SELECT 1 FROM alerts WHERE status = 'claimed' AND lease_until < ?)",
                      (at, at)).fetchone()[0] == 1


def mark_failed(db: Database, alert_id: int, error: str, backoff_s: float, max_attempts: int,
                lease_token: str | None = None) -> dict:
    """Back to pending after an exponentially growing wait, or given up once attempts run out."""
    with transaction(db, serialized=False) as connection:
        alert = _existing_alert(connection, alert_id, for_update=True)
        if alert["status"] == "sent":
            raise AlertAlreadySent(f"alert {alert_id} was already sent")
        if alert["status"] == "failed":
            return alert  # already given up: a repeated report changes nothing
        _check_lease(alert, lease_token)
        error = error[:MAX_ERROR_CHARS]
        if alert["attempts"] >= max_attempts:
            connection.execute(
                "UPDATE alerts SET status = 'failed', last_error = ?, lease_until = NULL, lease_token = NULL "
                "WHERE id = ?", (error, alert_id))
        else:
            connection.execute(
                "UPDATE alerts SET status = 'pending', next_attempt_at = ?, last_error = ?, "
                "lease_until = NULL, lease_token = NULL WHERE id = ?",
                (now() + backoff_delay(backoff_s, alert["attempts"]), error, alert_id))
        return _alert(connection, alert_id)


def backoff_delay(backoff_s: float, attempts: int) -> float:
    """backoff, 2x, 4x, ... after the 1st, 2nd, 3rd failed attempt; never more than an hour."""
    return min(backoff_s * 2 ** (max(attempts, 1) - 1), MAX_BACKOFF_S)


def alert_state(db: Database, alert_id: int) -> dict:
    return _existing_alert(db, alert_id)


def _existing_alert(connection: Database, alert_id: int, for_update: bool = False) -> dict:
    """`for_update`: the row stays locked until the transaction ends (PostgreSQL), so what is read
    is still true when it is written; a claim holding the row is waited for."""
    alert = _alert(connection, alert_id, for_update)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    return alert


def _check_lease(alert: dict, lease_token: str | None) -> None:
    # Without a token (the seed bridge sends none) the report is trusted as is.
    if lease_token is not None and lease_token != alert["lease_token"]:
        raise LeaseMismatch(f"alert {alert['id']} is no longer leased with that token "
                            "(the lease expired and the alert was handed out again)")


def _alert(connection: Database, alert_id: int, for_update: bool = False) -> dict | None:
    lock = _row_lock(connection) if for_update else ""
    return _one(connection, f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?{lock}", (alert_id,))


def _row_lock(connection: Database) -> str:
    # SQLite needs none: BEGIN IMMEDIATE already holds its one write lock.
    return " FOR UPDATE" if connection.dialect == "postgresql" else ""


def _one(connection: Database, sql: str, params: tuple) -> dict | None:
    cursor = connection.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip((column[0] for column in cursor.description), row))
