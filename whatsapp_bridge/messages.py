"""What travels through the bridge, whatever the transport: a message from a user, and a message
to one. Phones are always E.164 ('+51987654321'); each transport converts to its own form."""
from __future__ import annotations

from dataclasses import dataclass, field

# Kinds of inbound message. The backend answers text, and voice notes (AUDIO: their audio goes to
# /agent/voice, see media.py); the others get a polite answer (UNSUPPORTED_REPLY) until the stack
# can handle them, but are still passed on as text when they carry some (a button's title, a
# location's coordinates, an image's caption). A REACTION (an emoji on one of our replies: the
# user's rating of it) goes to /agent/reaction and is answered only when the backend says something.
TEXT, BUTTON_REPLY, LOCATION, AUDIO, IMAGE, UNSUPPORTED = "text", "button_reply", "location", "audio", "image", \
    "unsupported"
REACTION = "reaction"

UNSUPPORTED_REPLY = ("Por ahora solo entiendo mensajes de texto. ¿Me lo puedes escribir, por favor?")


@dataclass(frozen=True)
class Inbound:
    phone: str
    message_id: str  # the provider's id: the same id twice is one message (retried webhook)
    kind: str
    text: str = ""  # what the backend will read; empty for media it cannot handle
    name: str | None = None  # the WhatsApp profile name, when the provider gives it
    timestamp: float | None = None
    # kind-specific: latitude/longitude, button id; a voice note's media id, mime_type, seconds, and
    # its bytes as "audio" when the transport has them already (the simulator's upload); a
    # reaction's "reacted_to" (the provider id of the message reacted to) and "emoji" ("" = removed)
    details: dict = field(default_factory=dict)


def reaction(phone: str, message_id: str, reacted_to: str, emoji: str, **fields) -> Inbound:
    """One shape for every transport's reactions: the relay reads these two details only."""
    return Inbound(phone, message_id, REACTION, details={"reacted_to": reacted_to, "emoji": emoji or ""}, **fields)


@dataclass(frozen=True)
class Button:
    id: str
    title: str  # WhatsApp shows at most 20 characters


def choice_buttons(options: list[str]) -> tuple[Button, ...]:
    """The backend's offered answers ("opciones") as buttons: a tap sends the title, which the
    backend reads like the typed answer. WhatsApp takes at most 10 rows in a list."""
    return tuple(Button(str(number), option[:24]) for number, option in enumerate(options[:10], 1)
                 if isinstance(option, str) and option.strip())


@dataclass(frozen=True)
class Template:
    """An approved message template: the only way to reach a user outside the 24-hour window."""
    name: str
    language: str  # e.g. "es"
    body_parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outbound:
    phone: str
    text: str = ""  # the body, or an image's caption
    buttons: tuple[Button, ...] = ()  # reply buttons (up to 3), or a list's rows (up to 10) when more
    image_url: str | None = None  # a picture the provider fetches itself
    image: bytes | None = None  # or the picture itself (PNG), e.g. a progress card from the backend
    template: Template | None = None
    reply_to: str | None = None  # the inbound message id this answers, when there is one
    # reply, holding (a "one moment" note), alert, notice (a person attends now / the bot is back)
    # or document: for logs and the simulator
    purpose: str = "reply"
    officer: bool = False  # written by a person in the panel, not by the bot (the simulator marks it)
    # A file sent as a WhatsApp document (a user's data export), `text` its caption. Sent with the
    # type it is given: the provider decides what it takes (Cloud API: a fixed list, see cloud_api.py).
    document: bytes | None = None
    document_name: str | None = None  # e.g. "mis_datos.json"; the phone picks the icon by its extension
    document_type: str | None = None  # its MIME type, e.g. "application/pdf"


class SendFailed(RuntimeError):
    """The provider did not accept a message. `retry_after` (seconds) is set when trying again
    later may work (429, 5xx, timeouts); None means it never will as sent (bad number, bad format).
    `needs_template` is set when the user is outside the 24-hour customer-service window."""

    def __init__(self, reason: str, retry_after: float | None = None, needs_template: bool = False):
        super().__init__(reason)
        self.retry_after = retry_after
        self.needs_template = needs_template

    @property
    def retryable(self) -> bool:
        return self.retry_after is not None
