"""Conversation memory: every message in and out, the short-term window, and full-text recall
of older messages and the knowledge base (SQLite FTS5; the semantic layer on one machine)."""
from __future__ import annotations


from backend.store.database import Database, now
from backend.text import plain_words
from backend.understanding.reading import stem

SHORT_TERM_MESSAGES = 20
SHORT_TERM_SECONDS = 24 * 3600
# Words too common in Spanish chat to say anything about what a message is about (accents removed).
_STOPWORDS = frozenset("""
a al algo como con cual cuando cuanto de del dias donde el ella ellos en era es esa ese eso esta este esto
estoy fue ha hay la las le lo los me mi mis muy no nos o para pero por que se si sin sobre su sus te tu tus
un una unos y ya yo hola gracias buenos buenas tardes noches
""".split())


def store_inbound(db: Database, contact_id: int, body: str, wa_message_id: str | None) -> int:
    new_id = db.insert("INSERT INTO messages (contact_id, direction, body, wa_message_id, created_at) "
                        "VALUES (?, 'in', ?, ?, ?)", [contact_id, body, wa_message_id, now()])
    return new_id


def store_reply(db: Database, contact_id: int, body: str, source: str, in_reply_to: int) -> int:
    new_id = db.insert("INSERT INTO messages (contact_id, direction, body, source, in_reply_to, created_at) "
                        "VALUES (?, 'out', ?, ?, ?, ?)", [contact_id, body, source, in_reply_to, now()])
    return new_id


def inbound_by_whatsapp_id(db: Database, wa_message_id: str) -> int | None:
    row = db.execute("SELECT id FROM messages WHERE wa_message_id = ?", [wa_message_id]).fetchone()
    return row[0] if row else None


def reply_to(db: Database, inbound_id: int) -> tuple[str, str] | None:
    row = db.execute("SELECT body, source FROM messages WHERE in_reply_to = ? ORDER BY id DESC LIMIT 1",
                     [inbound_id]).fetchone()
    return (row[0], row[1]) if row else None


def recent_messages(db: Database, contact_id: int, before_id: int) -> list[dict]:
    """The short-term window: the last 20 messages of the past 24 hours, oldest first."""
    rows = db.execute(
        "SELECT id, direction, body FROM messages WHERE contact_id = ? AND id < ? AND created_at >= ? "
        "ORDER BY id DESC LIMIT ?",
        [contact_id, before_id, now() - SHORT_TERM_SECONDS, SHORT_TERM_MESSAGES]).fetchall()
    return [{"id": r[0], "de": "usuario" if r[1] == "in" else "chasqui", "texto": r[2]} for r in reversed(rows)]


def _words(text: str) -> list[str]:
    """Meaningful words, accents removed, as FTS5's remove_diacritics tokenizer sees them."""
    return [w for w in plain_words(text) if len(w) >= 3 and w not in _STOPWORDS]


def fts_query(text: str) -> str | None:
    """User text -> an FTS5 OR-query of its meaningful words as stem prefixes, so "estiro" finds
    "estiramientos" and "regué" finds "riego"'s neighbours "regar", "regado" (quoted: no FTS syntax
    gets through)."""
    unique = list(dict.fromkeys(stem(w) for w in _words(text)))[:12]
    return " OR ".join(f'"{w}"*' for w in unique) if unique else None


RECALL_CANDIDATES = 200


def recall_messages(db: Database, contact_id: int, text: str, exclude_ids: set[int],
                    limit: int = 3) -> list[dict]:
    """Older messages of this contact that share words with `text` ("¿qué te dije de mi rodilla?"),
    those sharing the most words first, then the most recent.

    Not bm25: its IDF counts every row holding each word across all contacts, which costs tens of
    milliseconds on a million messages and says little about one person's own conversation."""
    words = fts_query(text)
    if not words:
        return []
    query = f"contact : k{int(contact_id)} AND body : ({words})"
    rows = db.execute(
        "SELECT m.id, m.direction, m.body, m.created_at FROM messages_fts "
        "JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ? "
        "ORDER BY messages_fts.rowid DESC LIMIT ?", [query, RECALL_CANDIDATES]).fetchall()
    wanted = set(_words(text))
    ranked = sorted((r for r in rows if r[0] not in exclude_ids),
                    key=lambda r: (-len(wanted & set(_words(r[2]))), -r[0]))
    return [{"de": "usuario" if r[1] == "in" else "chasqui", "texto": r[2][:300],
             "hace_dias": int((now() - r[3]) // 86400)} for r in ranked[:limit]]


def search_knowledge(db: Database, domain: str | None, text: str, limit: int = 3,
                     chars: int = 400) -> list[dict]:
    query = fts_query(text)
    if not query:
        return []
    rows = db.execute(
        "SELECT k.title, k.body FROM knowledge_fts f JOIN knowledge k ON k.id = f.rowid "
        "WHERE knowledge_fts MATCH ? AND (k.domain IS NULL OR k.domain = ?) ORDER BY f.rank LIMIT ?",
        [query, domain, limit]).fetchall()
    return [{"titulo": r[0], "texto": r[1][:chars]} for r in rows]
