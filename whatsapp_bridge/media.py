"""Inbound audio, whatever the transport: the bytes and their type, the one error a transport
raises when it cannot get them, and the checks every transport applies (size, type).

A voice note is fetched in the relay's worker (never in a webhook handler, which must answer at
once), kept in the inbox before the backend hears it, and sent to POST /agent/voice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

MAX_AUDIO_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for an audio message (and the backend's)
AUDIO_TYPES_OUTSIDE_AUDIO = frozenset({"application/ogg"})  # OGG named by its container's own type
# The file name the backend is sent: its extension is a hint for the decoder, nothing more.
EXTENSIONS = {"audio/ogg": ".ogg", "application/ogg": ".ogg", "audio/opus": ".ogg", "audio/mpeg": ".mp3",
              "audio/mp3": ".mp3", "audio/mp4": ".m4a", "audio/m4a": ".m4a", "audio/x-m4a": ".m4a",
              "audio/aac": ".aac", "audio/amr": ".amr", "audio/webm": ".webm", "audio/wav": ".wav",
              "audio/x-wav": ".wav", "video/mp4": ".m4a", "video/ogg": ".ogg", "video/webm": ".webm"}


@dataclass(frozen=True)
class AudioFile:
    data: bytes
    mime_type: str  # as the provider named it, parameters included ("audio/ogg; codecs=opus")


class MediaUnavailable(RuntimeError):
    """The audio could not be had. `retryable`: trying again later may work (network, the
    provider's 5xx, our token); otherwise it never will (too big, not audio, gone) and the user is
    asked to send it again or write it. `code` picks the reply: too_large, not_audio, unavailable."""

    def __init__(self, reason: str, retryable: bool, code: str = "unavailable"):
        super().__init__(reason)
        self.retryable, self.code = retryable, code


def base_type(mime_type: str | None) -> str:
    """'Audio/OGG; codecs=opus' -> 'audio/ogg'."""
    return (mime_type or "").split(";")[0].strip().lower()


def is_audio_type(mime_type: str | None) -> bool:
    kind = base_type(mime_type)
    return (kind.startswith("audio/") and len(kind) > len("audio/")) or kind in AUDIO_TYPES_OUTSIDE_AUDIO


def file_name(mime_type: str) -> str:
    return "voice" + EXTENSIONS.get(base_type(mime_type), ".ogg")


def check_audio_type(mime_type: str | None) -> None:
    if not is_audio_type(mime_type):
        raise MediaUnavailable(f"the media is {mime_type or 'of no stated type'}, not audio", retryable=False,
                               code="not_audio")


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise MediaUnavailable(f"the audio is {size} bytes; the limit is {limit}", retryable=False, code="too_large")
    if size <= 0:
        raise MediaUnavailable("the audio is empty", retryable=False, code="not_audio")


def read_limited(chunks: Iterable[bytes], limit: int) -> bytes:
    """A download, stopped as soon as it grows past `limit` (a stated size may lie)."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > limit:
            check_size(len(body), limit)
    check_size(len(body), limit)
    return bytes(body)


def checked_audio(data: bytes, mime_type: str | None, limit: int) -> AudioFile:
    """Audio handed over whole (the simulator's upload, WhatsApp Web's download), checked as a
    fetched one is."""
    check_audio_type(mime_type)
    check_size(len(data), limit)
    return AudioFile(data, mime_type)
