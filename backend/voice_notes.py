"""The voice notes users send: kept as they came, with what the speech engine heard in them.

A note is written before it is transcribed, in its own statement, so a note the engine cannot
read (or a backend killed while it listens) is still there for the admin to play; a repeat of
the same provider message id finds the row and the transcript already made, and is not heard
twice."""
from __future__ import annotations

from dataclasses import dataclass

from backend.store.database import Database, now


@dataclass(frozen=True)
class VoiceNote:
    id: int
    wa_message_id: str
    phone: str
    mime_type: str
    audio: bytes
    transcript: str | None  # None: not heard yet
    problem: str | None  # why it could not be heard (the speech engine's error code)
    seconds: float | None

    @property
    def heard(self) -> bool:
        return self.transcript is not None or self.problem is not None


_COLUMNS = "id, wa_message_id, phone, mime_type, audio, transcript, problem, seconds"


def keep(db: Database, wa_message_id: str, phone: str, mime_type: str, audio: bytes) -> VoiceNote:
    """The stored note for this message id, stored now if it is new."""
    db.execute("INSERT INTO voice_notes (wa_message_id, phone, mime_type, audio, bytes, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [wa_message_id, phone, mime_type[:100], audio, len(audio), now()])
    row = db.execute(f"SELECT {_COLUMNS} FROM voice_notes WHERE wa_message_id = ?", [wa_message_id]).fetchone()
    return VoiceNote(*row)


def heard(db: Database, note_id: int, transcript: str, problem: str | None,
          seconds: float | None, transcribe_ms: float | None) -> None:
    db.execute("UPDATE voice_notes SET transcript = ?, problem = ?, seconds = ?, transcribe_ms = ?, heard_at = ? "
               "WHERE id = ?", [transcript, problem, seconds, transcribe_ms, now(), note_id])


def link(db: Database, note_id: int, contact_id: int | None, message_id: int | None) -> None:
    """The contact the note belongs to and the inbound message its transcript became."""
    db.execute("UPDATE voice_notes SET contact_id = COALESCE(?, contact_id), message_id = COALESCE(?, message_id) "
               "WHERE id = ?", [contact_id, message_id, note_id])


def audio_of(db: Database, note_id: int) -> tuple[bytes, str] | None:
    row = db.execute("SELECT audio, mime_type FROM voice_notes WHERE id = ?", [note_id]).fetchone()
    return (row[0], row[1]) if row else None


def notes_of_messages(db: Database, message_ids: list[int]) -> dict[int, dict]:
    """message id -> its voice note's id, type, length and problem, for the admin's conversation view."""
    if not message_ids:
        return {}
    marks = ",".join("?" * len(message_ids))
    rows = db.execute(f"SELECT message_id, id, mime_type, seconds, problem FROM voice_notes WHERE message_id IN ({marks})",
                      message_ids).fetchall()
    return {row[0]: {"id": row[1], "mime_type": row[2], "seconds": row[3], "problem": row[4]} for row in rows}
