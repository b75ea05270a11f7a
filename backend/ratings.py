"""Users rating replies: a WhatsApp reaction on the reply itself (👍 good, 👎 bad...) or a
«gracias» / «no me sirvió» written right after it. One rating per reply (a changed reaction
replaces it, a removed one deletes it), stored with where the reply came from and the question it
answered, so the panel can show what answers land badly and an officer can write the right one.
A bad rating also asks for a person (takeovers.request)."""
from __future__ import annotations

from backend import audit, knowledge, takeovers
from backend.store.database import Database, now

# Emoji are compared without skin tones and variation selectors: 👍🏽 and ❤️ are 👍 and ❤.
GOOD = frozenset("👍 ❤ 🙏 👏 💯 😊 😀 😃 😁 🥰 😍 ✅ 👌 💪 🙌 ♥ 💚".split())
BAD = frozenset("👎 😡 😠 ❌ 😞 😢 😤 🤬 💩".split())
_MODIFIERS = {chr(c) for c in range(0x1F3FB, 0x1F400)} | {"\ufe0f", "\ufe0e"}
# Replies that are not answers to rate: the user's «gracias» after them is just politeness.
UNRATED_SOURCES = ("onboarding", "opt-out", "notice", "quota", "duplicate")
RATE_AFTER_S = 24 * 3600  # «gracias» the next day is about something else


def emoji_value(emoji: str) -> int | None:
    """1 good, -1 bad, 0 removed (""), None for a reaction that says neither (😮)."""
    bare = "".join(ch for ch in (emoji or "") if ch not in _MODIFIERS)
    if not bare:
        return 0
    if bare in GOOD:
        return 1
    if bare in BAD:
        return -1
    return None


def rate(connection: Database, reply_id: int, value: int, via: str, emoji: str | None = None) -> bool:
    """Rate the reply `reply_id` (a `messages` row going out); 0 removes its rating. True when a
    rating is stored. A bad one puts the conversation in the officers' inbox."""
    reply = connection.execute(
        "SELECT r.contact_id, r.source, q.body FROM messages r LEFT JOIN messages q ON q.id = r.in_reply_to "
        "WHERE r.id = ? AND r.direction = 'out'", (reply_id,)).fetchone()
    if reply is None:
        return False
    contact_id, source, question = reply
    if value == 0:
        connection.execute("DELETE FROM ratings WHERE message_id = ?", (reply_id,))
        return False
    connection.execute(
        "INSERT INTO ratings (contact_id, message_id, value, via, emoji, reply_source, question, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE SET value = excluded.value, "
        "via = excluded.via, emoji = excluded.emoji, created_at = excluded.created_at, reviewed_at = NULL, "
        "reviewed_by = NULL", (contact_id, reply_id, value, via, emoji, source, question, now()))
    if value < 0:
        takeovers.request(connection, contact_id, "bad_rating", reply_id)
    return True


def reacted_reply(connection: Database, contact_id: int, reacted_to: str, reply_to: str | None) -> int | None:
    """The reply a reaction is about: an officer's reply or a notice is known by the provider id
    the bridge reported for it; a bot's reply by the inbound message it answered (`reply_to`,
    which the bridge resolves from the ids of the pieces it sent)."""
    row = connection.execute("SELECT message_id FROM alerts WHERE provider_message_id = ? AND contact_id = ? "
                             "AND message_id IS NOT NULL", (reacted_to, contact_id)).fetchone()
    if row is not None:
        return row[0]
    if not reply_to:
        return None
    row = connection.execute(
        "SELECT r.id FROM messages q JOIN messages r ON r.in_reply_to = q.id AND r.direction = 'out' "
        "WHERE q.wa_message_id = ? AND q.contact_id = ? ORDER BY r.id DESC LIMIT 1", (reply_to, contact_id)).fetchone()
    return row[0] if row else None


def last_rateable_reply(connection: Database, contact_id: int, before_id: int) -> int | None:
    """The reply a «gracias» / «no me sirvió» written now is about: the conversation's last
    message before it, when that is an answer of the past day."""
    row = connection.execute(
        "SELECT id, direction, source, created_at FROM messages WHERE contact_id = ? AND id < ? "
        "AND COALESCE(source, '') != 'notice' ORDER BY id DESC LIMIT 1", (contact_id, before_id)).fetchone()
    if row is None or row[1] != "out" or row[2] in UNRATED_SOURCES or row[3] < now() - RATE_AFTER_S:
        return None
    return row[0]


def review(connection: Database, rating_id: int, officer: str, title: str | None = None,
           body: str | None = None) -> int | None:
    """An officer looked at a rated reply; with `title` and `body` they wrote the right answer, which
    joins the knowledge base (for the contact's domain) and is found for the next such question.
    The knowledge entry's id, or None. Raises LookupError for an unknown rating."""
    row = connection.execute("SELECT r.id, c.domain FROM ratings r JOIN contacts c ON c.id = r.contact_id "
                             "WHERE r.id = ?", (rating_id,)).fetchone()
    if row is None:
        raise LookupError(f"there is no rating {rating_id}")
    knowledge_id = None
    if title and body:
        knowledge_id = knowledge.add_entry(connection, row[1], title.strip(), body.strip(), f"officer {officer}")
    connection.execute("UPDATE ratings SET reviewed_at = ?, reviewed_by = ?, knowledge_id = COALESCE(?, knowledge_id) "
                       "WHERE id = ?", (now(), officer, knowledge_id, rating_id))
    audit.record(connection, officer, "right_answer" if knowledge_id else "review_rating", f"rating {rating_id}",
                 detail=f"knowledge {knowledge_id}" if knowledge_id else None)
    return knowledge_id
