"""The bridge's own SQLite file: every inbound message is written here before anything else, and
stays until its answer has reached the user. A backend that is down, a provider that refuses, a
bridge killed mid-delivery: the message waits here and is tried again, never dropped.

A row moves queued -> asking (the backend is thinking) -> replying (the answer is known, pieces
are being sent) -> answered, or failed when it never can be. `pieces_sent` lets a restart send
only what the user has not got yet.

A voice note's row also holds what the provider said of it (`media`: its id, type, length) and,
once fetched, the audio itself, so a restart asks the backend without fetching it again; the
audio is dropped once the backend has answered (it keeps the note), `heard` keeps what it heard.

A reaction's row holds what it reacted to and the emoji. The provider's id of every reply piece
sent is kept (`reply_ids`), so that a later reaction to one of them is told which message that
reply answered. An answer that asks to forget (`forget`) deletes the phone's rows once delivered.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from whatsapp_bridge.media import AudioFile
from whatsapp_bridge.messages import AUDIO, REACTION, Inbound

WINDOW_S = 24 * 3600  # WhatsApp's customer-service window after a user's last message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,         -- the provider's id: a retried webhook is stored once
    phone TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    received_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'asking', 'replying', 'answered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    reply_pieces TEXT,                       -- JSON list of the answer's WhatsApp-sized pieces
    pieces_sent INTEGER NOT NULL DEFAULT 0,
    holding_sent INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    answered_at REAL,
    refusal TEXT,                            -- why the backend would not answer it (answered politely)
    server_errors INTEGER NOT NULL DEFAULT 0, -- tries that ended in an HTTP 500 (an outage's other errors apart)
    options TEXT,                            -- JSON list: the answers the reply offers (buttons, a list)
    name TEXT,                               -- the sender's WhatsApp profile name, when the provider gives it
    media TEXT,                              -- JSON: a voice note's media_id, mime_type, seconds (as known)
    audio BLOB,                              -- the voice note's bytes, from fetched until the backend answered
    heard TEXT,                              -- what the backend heard in the voice note ('' for nothing)
    media_failures INTEGER NOT NULL DEFAULT 0, -- fetches of the audio that failed in a way that may pass
    reacted_to TEXT,                         -- a reaction's: the provider id of the message reacted to
    emoji TEXT,                              -- a reaction's emoji ('' when it was removed)
    forget INTEGER NOT NULL DEFAULT 0        -- the answer asked to forget the phone once delivered
);
CREATE INDEX IF NOT EXISTS inbox_waiting ON inbox(next_attempt_at) WHERE status IN ('queued', 'replying');
CREATE INDEX IF NOT EXISTS inbox_by_phone ON inbox(phone, received_at);
-- Looked up by the provider's id when a reaction names it: a table, so the lookup is an index.
CREATE TABLE IF NOT EXISTS reply_ids (
    provider_message_id TEXT PRIMARY KEY,    -- a reply piece as the provider named it
    inbound_message_id TEXT NOT NULL,        -- the inbox message it answered
    phone TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reply_ids_by_phone ON reply_ids(phone);
"""


@dataclass
class Entry:
    id: int
    message_id: str
    phone: str
    kind: str
    text: str
    status: str
    attempts: int
    reply_pieces: list[str] | None
    pieces_sent: int
    holding_sent: bool
    received_at: float
    server_errors: int = 0
    options: list[str] = field(default_factory=list)
    name: str | None = None
    media: dict = field(default_factory=dict)
    heard: str | None = None
    reacted_to: str | None = None
    emoji: str | None = None
    forget: bool = False


class Inbox:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each statement is its own transaction, and each state change is one statement.
        self.connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = NORMAL")
        self.connection.executescript(_SCHEMA)
        columns = {row[1] for row in self.connection.execute("PRAGMA table_info(inbox)")}
        for column, declaration in (("refusal", "TEXT"), ("server_errors", "INTEGER NOT NULL DEFAULT 0"),
                                    ("options", "TEXT"), ("name", "TEXT"), ("media", "TEXT"), ("audio", "BLOB"),
                                    ("heard", "TEXT"), ("media_failures", "INTEGER NOT NULL DEFAULT 0"),
                                    ("reacted_to", "TEXT"), ("emoji", "TEXT"),
                                    ("forget", "INTEGER NOT NULL DEFAULT 0")):
            if column not in columns:  # a file from before the column existed
                self.connection.execute(f"ALTER TABLE inbox ADD COLUMN {column} {declaration}")
        self._lock = threading.Lock()  # one connection, shared by the relay's threads
        # Rows a killed bridge left mid-question are asked again (the backend answers a repeated
        # message_id from its store instead of asking the model twice).
        self.execute("UPDATE inbox SET status = 'queued' WHERE status = 'asking'")
        self.execute("UPDATE inbox SET next_attempt_at = ? WHERE status IN ('queued', 'replying')", (time.time(),))

    def add(self, message: Inbound) -> int | None:
        """The row id, or None when this message id was already received (a retried webhook).
        A voice note's audio, when the transport handed it over (details["audio"]), is kept in
        the same statement: a crash never leaves the row without it."""
        at = time.time()
        media, audio = _media_of(message)
        reacted_to, emoji = (message.details.get("reacted_to"), message.details.get("emoji") or "") \
            if message.kind == REACTION else (None, None)
        cursor = self.execute(
            "INSERT OR IGNORE INTO inbox (message_id, phone, kind, text, received_at, next_attempt_at, name, media, "
            "audio, reacted_to, emoji) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message.message_id, message.phone, message.kind, message.text, at, at, message.name, media, audio,
             reacted_to, emoji))
        return cursor.lastrowid if cursor.rowcount else None

    def get(self, entry_id: int) -> Entry:
        row = self.execute("SELECT id, message_id, phone, kind, text, status, attempts, reply_pieces, pieces_sent, "
                           "holding_sent, received_at, server_errors, options, name, media, heard, reacted_to, emoji, "
                           "forget FROM inbox WHERE id = ?", (entry_id,)).fetchone()
        pieces = json.loads(row[7]) if row[7] else None
        return Entry(*row[:7], pieces, row[8], bool(row[9]), row[10], row[11], json.loads(row[12] or "[]"), row[13],
                     json.loads(row[14] or "{}"), row[15], row[16], row[17], bool(row[18]))

    def audio(self, entry_id: int) -> AudioFile | None:
        """The voice note's bytes, once kept (read apart: a note may be megabytes)."""
        row = self.execute("SELECT audio, media FROM inbox WHERE id = ?", (entry_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return AudioFile(bytes(row[0]), json.loads(row[1] or "{}").get("mime_type") or "audio/ogg")

    def keep_audio(self, entry_id: int, audio: AudioFile) -> None:
        """The fetched audio, and the type the provider gave it when fetched (the surer one)."""
        with self._lock:
            row = self.connection.execute("SELECT media FROM inbox WHERE id = ?", (entry_id,)).fetchone()
            media = {**json.loads(row[0] or "{}"), "mime_type": audio.mime_type, "bytes": len(audio.data)}
            self.connection.execute("UPDATE inbox SET audio = ?, media = ? WHERE id = ?",
                                    (audio.data, json.dumps(media, ensure_ascii=False), entry_id))

    def media_failed(self, entry_id: int) -> int:
        """One more fetch of the audio failed in a way that may pass; how many have."""
        self.execute("UPDATE inbox SET media_failures = media_failures + 1 WHERE id = ?", (entry_id,))
        return self.execute("SELECT media_failures FROM inbox WHERE id = ?", (entry_id,)).fetchone()[0]

    def heard(self, entry_id: int, transcript: str) -> None:
        self.execute("UPDATE inbox SET heard = ? WHERE id = ?", (transcript, entry_id))

    def take_due(self, limit: int = 50) -> list[int]:
        """Waiting rows whose time has come, marked as being worked on."""
        with self._lock:
            rows = self.connection.execute(
                "SELECT id, status FROM inbox WHERE status IN ('queued', 'replying') AND next_attempt_at <= ? "
                "ORDER BY id LIMIT ?", (time.time(), limit)).fetchall()
            # Push them out of the way while a worker has them; whoever finishes sets the real state.
            self.connection.executemany("UPDATE inbox SET next_attempt_at = ? WHERE id = ?",
                                     [(time.time() + 3600, row[0]) for row in rows])
        return [row[0] for row in rows]

    def take_due_one(self, entry_id: int) -> None:
        """A fresh message handed straight to a worker: the retry loop must not take it too."""
        self.execute("UPDATE inbox SET next_attempt_at = ? WHERE id = ?", (time.time() + 3600, entry_id))

    def asking(self, entry_id: int) -> None:
        self.execute("UPDATE inbox SET status = 'asking' WHERE id = ?", (entry_id,))

    def answer_known(self, entry_id: int, pieces: list[str], options: list[str] | None = None,
                     forget: bool = False) -> None:
        """The answer is decided: the audio is no longer needed (the backend keeps the note). No
        pieces is an answer too (silence: an officer holds the chat; a reaction the backend only
        noted). `forget` is kept with it, so a restart mid-delivery still forgets afterwards."""
        self.execute("UPDATE inbox SET status = 'replying', reply_pieces = ?, pieces_sent = 0, options = ?, "
                     "audio = NULL, forget = ? WHERE id = ?",
                     (json.dumps(pieces, ensure_ascii=False), json.dumps(options or [], ensure_ascii=False),
                      int(forget), entry_id))

    def server_error(self, entry_id: int) -> int:
        """One more try of this message ended in an HTTP 500; how many have."""
        self.execute("UPDATE inbox SET server_errors = server_errors + 1 WHERE id = ?", (entry_id,))
        return self.execute("SELECT server_errors FROM inbox WHERE id = ?", (entry_id,)).fetchone()[0]

    def refused(self, entry_id: int, reason: str) -> None:
        """The backend will not answer this message (a 4xx, or a 500 every time): the user gets a
        polite reply, and the row says why (the backend's «Failures» page has it too)."""
        self.execute("UPDATE inbox SET refusal = ? WHERE id = ?", (reason[:500], entry_id))

    def piece_sent(self, entry_id: int, pieces_sent: int, provider_message_id: str | None = None) -> None:
        """One more piece delivered, and the provider's id for it (one transaction: a reaction to a
        piece the row counts as sent always finds what it answered)."""
        with self._lock:
            self.connection.execute("BEGIN")
            try:
                self.connection.execute("UPDATE inbox SET pieces_sent = ? WHERE id = ?", (pieces_sent, entry_id))
                if provider_message_id:
                    self.connection.execute(
                        "INSERT OR REPLACE INTO reply_ids (provider_message_id, inbound_message_id, phone) "
                        "SELECT ?, message_id, phone FROM inbox WHERE id = ?", (provider_message_id, entry_id))
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise

    def answered_by(self, provider_message_id: str | None) -> str | None:
        """The inbound message id a reply piece (named by the provider's id) answered; None when
        the id is none of our replies (an alert, a holding note, or forgotten)."""
        if not provider_message_id:
            return None
        row = self.execute("SELECT inbound_message_id FROM reply_ids WHERE provider_message_id = ?",
                           (provider_message_id,)).fetchone()
        return row[0] if row else None

    def forget(self, phone: str, up_to_entry: int) -> int:
        """Deletes what the bridge keeps of a phone (rows, their audio, its replies' ids) up to the
        entry that asked for it; rows after it, written since, are new messages and still waiting.
        The number of rows deleted."""
        with self._lock:
            self.connection.execute("BEGIN")
            try:
                deleted = self.connection.execute("DELETE FROM inbox WHERE phone = ? AND id <= ?",
                                                  (phone, up_to_entry)).rowcount
                self.connection.execute("DELETE FROM reply_ids WHERE phone = ? AND inbound_message_id NOT IN "
                                        "(SELECT message_id FROM inbox WHERE phone = ?)", (phone, phone))
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
        return deleted

    def holding_sent(self, entry_id: int) -> None:
        self.execute("UPDATE inbox SET holding_sent = 1 WHERE id = ?", (entry_id,))

    def answered(self, entry_id: int) -> None:
        self.execute("UPDATE inbox SET status = 'answered', answered_at = ?, last_error = NULL WHERE id = ?",
                     (time.time(), entry_id))

    def retry_later(self, entry_id: int, delay_s: float, error: str) -> None:
        """Back to waiting: 'queued' if the backend has not answered yet, else still 'replying'."""
        self.execute("UPDATE inbox SET status = CASE WHEN reply_pieces IS NULL THEN 'queued' ELSE 'replying' END, "
                     "attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                     (time.time() + delay_s, error[:500], entry_id))

    def failed(self, entry_id: int, error: str) -> None:
        self.execute("UPDATE inbox SET status = 'failed', last_error = ? WHERE id = ?", (error[:500], entry_id))

    def window_open(self, phone: str) -> bool:
        """Has this user written in the past 24 hours? Outside that, WhatsApp takes only templates."""
        row = self.execute("SELECT MAX(received_at) FROM inbox WHERE phone = ?", (phone,)).fetchone()
        return row[0] is not None and row[0] > time.time() - WINDOW_S

    def counts(self) -> dict[str, int]:
        counts = dict(self.execute("SELECT status, COUNT(*) FROM inbox GROUP BY status").fetchall())
        refused = self.execute("SELECT COUNT(*) FROM inbox WHERE refusal IS NOT NULL").fetchone()[0]
        return {**counts, "refused": refused} if refused else counts  # answered politely, counted apart

    def execute(self, sql: str, params: tuple = ()):
        with self._lock:
            return self.connection.execute(sql, params)


def _media_of(message: Inbound) -> tuple[str | None, bytes | None]:
    """(media JSON, audio bytes) of a voice note: what the provider said of it (the bytes apart,
    in their own column), and the bytes when the transport handed them over."""
    if message.kind != AUDIO:
        return None, None
    details = {key: value for key, value in message.details.items() if key != "audio"}
    audio = message.details.get("audio")
    return json.dumps(details, ensure_ascii=False, default=str), audio if isinstance(audio, bytes) and audio else None
