"""People's own data: «MIS DATOS» (a summary, and a file of everything kept about them) and
«BORRAR MIS DATOS» (after a «sí»: the contact and all that belongs to it, deleted).

Everything is found from the schema, not from a list: every table with a foreign key to
`contacts` (the core's and each plug-in's) belongs to the contact. Deleting the contact row
removes them through ON DELETE CASCADE; rows that name the phone without a contact id (a
failure recorded before the contact existed, a voice note) are removed by phone. Only an
anonymous row in `erasures` remains: that someone was erased, of which domain, and when."""
from __future__ import annotations

import json

from backend.store.database import Database, now

EXPORT_NAME = "mis_datos_chasqui.txt"
# WhatsApp's documents are PDF, Office and plain text; JSON is not among them, so the export
# is JSON text sent as text/plain (any phone opens it).
EXPORT_TYPE = "text/plain"
# How the summary names the core's tables; plug-ins name theirs (DomainPlugin.data_labels).
LABELS = {
    "messages": "mensajes", "profiles": "perfil", "form_submissions": "reportes", "alerts": "alertas y envíos",
    "ratings": "valoraciones", "voice_notes": "notas de voz", "takeovers": "atenciones por una persona",
    "action_log": "cambios anotados", "model_calls": "días de consultas", "pending_actions": "cambios por confirmar",
    "failures": "mensajes no procesados",
}
ERASE_PENDING = "_erase"  # pending_actions.domain of an erasure waiting for its «sí»


def contact_tables(connection: Database) -> list[tuple[str, str]]:
    """(table, column) for every column that references contacts(id)."""
    if connection.dialect == "postgresql":
        return [tuple(row) for row in connection.execute(_POSTGRESQL_CONTACT_KEYS)]
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '%_fts%' ORDER BY name")]
    return [(table, key[3]) for table in tables
            for key in connection.execute(f'PRAGMA foreign_key_list("{table}")') if key[2] == "contacts"]


# PostgreSQL's catalog: the foreign keys to contacts of the tables in the schema in use.
_POSTGRESQL_CONTACT_KEYS = (
    "SELECT t.relname, a.attname FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid "
    "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) "
    "WHERE k.contype = 'f' AND k.confrelid = CAST('contacts' AS regclass) "
    "AND t.relnamespace = CAST(current_schema() AS regnamespace) "
    "ORDER BY t.relname, a.attname")
# PostgreSQL has no rowid: a table's rows in the order of its primary key (ids, or the contact and day...).
_POSTGRESQL_KEY_COLUMNS = (
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
    "WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)")


def export(connection: Database, contact_id: int) -> dict:
    """Everything kept about the contact: its row and every row of every table that refers to it."""
    data = {"contacto": _rows(connection, "contacts", "id", contact_id)[0]}
    for table, column in contact_tables(connection):
        rows = _rows(connection, table, column, contact_id)
        if rows:
            data[table] = rows
    return data


def summary(data: dict, labels: dict[str, str] | None = None) -> str:
    """The chat's answer to «MIS DATOS»: what there is, counted; `labels` name plug-ins' tables."""
    labels = {**LABELS, **(labels or {})}
    contact = data["contacto"]
    lines = [f"• teléfono: {contact['phone']}"] + ([f"• nombre: {contact['name']}"] if contact.get("name") else [])
    if contact.get("domain"):
        lines.append(f"• tema: {contact['domain']}")
    profile = (data.get("profiles") or [{}])[0].get("data")
    for key, value in (profile.items() if isinstance(profile, dict) else ()):
        if value not in (None, "", [], {}):
            shown = value if isinstance(value, str | int | float) else json.dumps(value, ensure_ascii=False)
            lines.append(f"• {key.replace('_', ' ')}: {str(shown)[:80]}")
    for table, rows in data.items():
        if table not in ("contacto", "profiles"):
            lines.append(f"• {labels.get(table, table.replace('_', ' '))}: {len(rows)}")
    return ("Esto es lo que guardo de ti:\n" + "\n".join(lines) +
            "\nTe envío un archivo con todo. Para borrarlo todo, escribe «BORRAR MIS DATOS».")


def export_file(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, default=str).encode()


def ask_erase(connection: Database, contact_id: int) -> None:
    connection.execute("INSERT INTO pending_actions (contact_id, domain, actions, created_at) VALUES (?, ?, '{}', ?) "
                       "ON CONFLICT(contact_id) DO UPDATE SET domain = excluded.domain, actions = excluded.actions, "
                       "created_at = excluded.created_at", (contact_id, ERASE_PENDING, now()))


def erase_pending(connection: Database, contact_id: int, within_s: float) -> bool:
    return connection.execute("SELECT 1 FROM pending_actions WHERE contact_id = ? AND domain = ? AND created_at >= ?",
                              (contact_id, ERASE_PENDING, now() - within_s)).fetchone() is not None


def erase(connection: Database, contact_id: int, requested_via: str) -> None:
    """The contact and everything that refers to it; one anonymous count remains."""
    row = connection.execute("SELECT phone, domain FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        return
    phone, domain = row
    connection.execute("DELETE FROM voice_notes WHERE phone = ?", (phone,))
    connection.execute("DELETE FROM failures WHERE contact_id IS NULL AND (subject LIKE ? ESCAPE '\\' OR detail LIKE ? "
                       "ESCAPE '\\')", (_like(phone), _like(phone)))
    connection.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
    connection.execute("INSERT INTO erasures (domain, requested_via, created_at) VALUES (?, ?, ?)",
                       (domain, requested_via, now()))


def _like(phone: str) -> str:
    return "%" + phone.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _rows(connection: Database, table: str, column: str, contact_id: int) -> list[dict]:
    cursor = connection.execute(f'SELECT * FROM "{table}" WHERE "{column}" = ? ORDER BY {_order(connection, table)}',
                                (contact_id,))
    names = [c[0] for c in cursor.description]
    return [{name: _value(name, value) for name, value in zip(names, row)} for row in cursor.fetchall()]


def _order(connection: Database, table: str) -> str:
    """The order rows were written in, near enough: SQLite's rowid, PostgreSQL's primary key."""
    if connection.dialect == "sqlite":
        return "rowid"
    keys = [row[0] for row in connection.execute(_POSTGRESQL_KEY_COLUMNS, (f'"{table}"',))]
    return ", ".join(f'"{key}"' for key in keys) or "1"


def _value(name: str, value):
    if isinstance(value, bytes):
        return f"[{len(value)} bytes: {name}]"
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)  # profiles, reports: their JSON as data, not as an escaped string
        except ValueError:
            return value
    return value
