"""Conversation memory: every message in and out, the short-term window, and full-text recall
of older messages and the knowledge base (SQLite FTS5; on PostgreSQL its Spanish text search over
the GIN indexes messages_fts and knowledge_fts: the same words, as prefixes)."""
from __future__ import annotations

import re

from backend.store.database import Database, now
from backend.text import fold, plain_words
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


def tsquery(text: str) -> str | None:
    """User text -> PostgreSQL's to_tsquery('spanish', …) text: the same meaningful words, OR'ed, each
    a prefix (`word:*`, which PostgreSQL stems before matching). The words are the user's own,
    lower-cased, not our folded stems: the Spanish stemmer strips acute accents itself, and folding
    ñ would change a stem ("niño" is 'niñ', "nino" 'nin'). Letters and digits only, so no tsquery
    syntax gets through; a word that starts with a digit is left out, as FTS5's stem "#" finds nothing."""
    by_stem: dict[str, str] = {}
    for word in re.findall(r"[^\W_]+", text.lower()):
        plain = fold(word)
        if len(plain) >= 3 and plain not in _STOPWORDS and not word[0].isdigit():
            by_stem.setdefault(stem(plain), word)
    words = list(by_stem.values())[:12]
    return " | ".join(f"{w}:*" for w in words) if words else None


RECALL_CANDIDATES = 200
# The expressions of PostgreSQL's GIN indexes (backend/store/dialects.py), written exactly so.
_MESSAGE_VECTOR = "to_tsvector('spanish', m.body)"
_KNOWLEDGE_VECTOR = "to_tsvector('spanish', k.title || ' ' || k.body)"
# Newest first within the contact; on PostgreSQL the planner meets the GIN index with
# messages_by_contact_time (or reads that one alone for a contact with few messages).
_RECALL = {
    "sqlite": "SELECT m.id, m.direction, m.body, m.created_at FROM messages_fts "
              "JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ? "
              "ORDER BY messages_fts.rowid DESC LIMIT ?",
    "postgresql": "SELECT m.id, m.direction, m.body, m.created_at FROM messages m "
                  f"WHERE m.contact_id = ? AND {_MESSAGE_VECTOR} @@ to_tsquery('spanish', ?) "
                  "ORDER BY m.id DESC LIMIT ?",
}
# bm25 on SQLite; on PostgreSQL ts_rank, how often the words occur, not divided by the length (that put
# an entry naming the words in passing before the one about them, in the tests' knowledge).
_KNOWLEDGE = {
    "sqlite": "SELECT k.title, k.body FROM knowledge_fts f JOIN knowledge k ON k.id = f.rowid "
              "WHERE knowledge_fts MATCH ? AND (k.domain IS NULL OR k.domain = ?) ORDER BY f.rank LIMIT ?",
    "postgresql": f"SELECT k.title, k.body FROM knowledge k WHERE {_KNOWLEDGE_VECTOR} @@ to_tsquery('spanish', ?) "
                  "AND (k.domain IS NULL OR k.domain = ?) "
                  f"ORDER BY ts_rank({_KNOWLEDGE_VECTOR}, to_tsquery('spanish', ?)) DESC, k.id LIMIT ?",
}


def recall_messages(db: Database, contact_id: int, text: str, exclude_ids: set[int],
                    limit: int = 3) -> list[dict]:
    """Older messages of this contact that share words with `text` ("¿qué te dije de mi rodilla?"),
    those sharing the most words first, then the most recent.

    Not bm25: its IDF counts every row holding each word across all contacts, which costs tens of
    milliseconds on a million messages and says little about one person's own conversation."""
    postgresql = db.dialect == "postgresql"
    words = tsquery(text) if postgresql else fts_query(text)
    if not words:
        return []
    params = ([contact_id, words] if postgresql else [f"contact : k{int(contact_id)} AND body : ({words})"])
    rows = db.execute(_RECALL[db.dialect], [*params, RECALL_CANDIDATES]).fetchall()
    wanted = set(_words(text))
    ranked = sorted((r for r in rows if r[0] not in exclude_ids),
                    key=lambda r: (-len(wanted & set(_words(r[2]))), -r[0]))
    return [{"de": "usuario" if r[1] == "in" else "chasqui", "texto": r[2][:300],
             "hace_dias": int((now() - r[3]) // 86400)} for r in ranked[:limit]]


def search_knowledge(db: Database, domain: str | None, text: str, limit: int = 3,
                     chars: int = 400) -> list[dict]:
    postgresql = db.dialect == "postgresql"
    query = tsquery(text) if postgresql else fts_query(text)
    if not query:
        return []
    params = [query, domain, query, limit] if postgresql else [query, domain, limit]
    rows = db.execute(_KNOWLEDGE[db.dialect], params).fetchall()
    return [{"titulo": r[0], "texto": r[1][:chars]} for r in rows]
