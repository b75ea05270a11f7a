"""The WhatsApp Web transport's pure conversions (JID ⇄ E.164, event → Inbound, Outbound → text).

They are module functions that need no connection, so they are tested without an account; pairing
itself cannot be.
"""
from __future__ import annotations

import base64
import logging
import re
from typing import Callable

from whatsapp_bridge.messages import (AUDIO, BUTTON_REPLY, IMAGE, LOCATION, REACTION, TEXT, UNSUPPORTED, Button,
                                      Inbound, Outbound, Template)

log = logging.getLogger(__name__)

USER_SERVER, LID_SERVER = "s.whatsapp.net", "lid"
LEGACY_USER_SERVER = "c.us"  # whatsapp-web.js's ids, as the seed stored them
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")  # the bridge's phones, as backend/phones.py writes them

# Parts of a message that carry no content of their own (encryption keys, metadata).
ENVELOPE_FIELDS = frozenset({"messageContextInfo", "senderKeyDistributionMessage",
                             "fastRatchetKeySenderKeyDistributionMessage"})
# Containers whose `.message` is the real one (whatsmeow unwraps most already; this is a guard).
WRAPPER_FIELDS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
                  "documentWithCaptionMessage")
# Not something a user said: answering them would send "solo entiendo texto" for a deleted message.
# (A reactionMessage is read: it rates our reply. encReactionMessage is a channel's, never a chat's.)
SILENT_FIELDS = frozenset({
    "protocolMessage", "encReactionMessage", "pollUpdateMessage", "keepInChatMessage",
    "pinInChatMessage", "editedMessage", "deviceSentMessage", "placeholderMessage", "secretEncryptedMessage",
    "encEventResponseMessage", "encCommentMessage", "stickerSyncRmrMessage", "messageHistoryNotice",
    "messageHistoryBundle", "groupRootKeyShare", "rootSecretDistributeMessage", "call", "chat",
    "callLogMesssage", "bcallMessage",
})
RECEIPT_STATUSES = {"DELIVERED": "delivered", "READ": "read", "PLAYED": "read"}
# What downloading a voice note takes (whatsmeow's DownloadAny reads these), kept with the inbox
# row so that the note can be fetched in the relay's worker, and again after a restart.
AUDIO_DOWNLOAD_FIELDS = ("URL", "directPath", "mediaKey", "mediaKeyTimestamp", "fileSHA256", "fileEncSHA256",
                         "fileLength", "mimetype")


# -- phones and JIDs ----------------------------------------------------------------------------------
def phone_digits(phone: str) -> str:
    """'+51987654321' -> '51987654321'; ValueError for anything that is not E.164."""
    if not isinstance(phone, str) or not _E164.match(phone):
        raise ValueError(f"{phone!r} is not a phone number in E.164 form (+ country code and number)")
    return phone[1:]


def phone_to_jid(phone: str) -> str:
    return f"{phone_digits(phone)}@{USER_SERVER}"


def jid_to_phone(jid) -> str | None:
    """A user JID ('51987654321@s.whatsapp.net', '51987654321:3@…', or neonize's JID message) as
    E.164; None for groups, broadcasts, newsletters and hidden (@lid) ids."""
    if isinstance(jid, str):
        user, _, server = jid.partition("@")
        user = user.split(":")[0].split(".")[0]  # drop the device ('…:3') and agent parts
    else:
        user, server = jid.User, jid.Server
    phone = f"+{user}"
    return phone if server in (USER_SERVER, LEGACY_USER_SERVER) and _E164.match(phone) else None


def sender_phone(source, resolve_lid: Callable | None = None) -> str | None:
    """The phone of a 1:1 message's sender. WhatsApp increasingly addresses people by a hidden id
    (@lid); the phone JID then comes as SenderAlt, or from whatsmeow's LID map via `resolve_lid`."""
    for jid in (source.Sender, source.SenderAlt, source.Chat):
        if (phone := jid_to_phone(jid)) is not None:
            return phone
    if resolve_lid is not None:
        for jid in (source.Sender, source.Chat):
            if jid.Server == LID_SERVER and (resolved := resolve_lid(jid)) is not None:
                return jid_to_phone(resolved)
    return None


def is_direct_chat(source) -> bool:
    """A 1:1 chat with a person: not our own message, a group, a status broadcast or a channel."""
    return not source.IsFromMe and not source.IsGroup and source.Chat.Server in (USER_SERVER, LID_SERVER)


# -- inbound ------------------------------------------------------------------------------------------
def event_timestamp(value: int) -> float | None:
    """neonize sends milliseconds (older builds seconds); the bridge wants seconds."""
    if not value:
        return None
    return value / 1000.0 if value > 100_000_000_000 else float(value)


def location_text(latitude: float, longitude: float, name: str = "", address: str = "") -> str:
    """As the cloud transport words it, so the backend reads one form whatever the transport."""
    place = ", ".join(part for part in (name, address) if part)
    return f"Mi ubicación: {round(latitude, 6)}, {round(longitude, 6)}" + (f" ({place})" if place else "")


def _location(sub, live: bool = False) -> tuple[str, str, dict]:
    details = {"latitude": sub.degreesLatitude, "longitude": sub.degreesLongitude}
    name, address = getattr(sub, "name", ""), getattr(sub, "address", "")
    details.update({key: value for key, value in (("name", name), ("address", address)) if value})
    if live:
        details["live"] = True
    return LOCATION, location_text(sub.degreesLatitude, sub.degreesLongitude, name, address), details


def _audio(sub) -> tuple[str, str, dict]:
    keys = type(sub)(**{name: getattr(sub, name) for name in AUDIO_DOWNLOAD_FIELDS if sub.HasField(name)})
    return AUDIO, "", {"mime_type": sub.mimetype, "seconds": sub.seconds, "voice_note": sub.PTT,
                       "download": base64.b64encode(keys.SerializeToString()).decode()}


# One converter per message field: (kind, text, details).
CONVERTERS: dict[str, Callable] = {
    "conversation": lambda text: (TEXT, text, {}),
    "extendedTextMessage": lambda sub: (TEXT, sub.text, {}),
    "imageMessage": lambda sub: (IMAGE, sub.caption, {"mime_type": sub.mimetype}),
    "audioMessage": _audio,
    "locationMessage": _location,
    "liveLocationMessage": lambda sub: _location(sub, live=True),
    "buttonsResponseMessage": lambda sub: (BUTTON_REPLY, sub.selectedDisplayText,
                                           {"button_id": sub.selectedButtonID}),
    "templateButtonReplyMessage": lambda sub: (BUTTON_REPLY, sub.selectedDisplayText, {"button_id": sub.selectedID}),
    "listResponseMessage": lambda sub: (BUTTON_REPLY, sub.title,
                                        {"button_id": sub.singleSelectReply.selectedRowID}),
    # key.ID names the message reacted to; text "" when the reaction was taken away
    "reactionMessage": lambda sub: (REACTION, "", {"reacted_to": sub.key.ID, "emoji": sub.text}),
}


def _unwrap(message):
    for _ in range(3):
        wrapper = next((name for name in WRAPPER_FIELDS if message.HasField(name)), None)
        if wrapper is None:
            break
        message = getattr(message, wrapper).message
    return message


def message_content(message) -> tuple[str, str, dict] | None:
    """(kind, text, details) of a WhatsApp message (waE2E.Message); None when nobody said anything."""
    message = _unwrap(message)
    present = [field.name for field, _ in message.ListFields() if field.name not in ENVELOPE_FIELDS]
    if not present or any(name in SILENT_FIELDS for name in present):
        return None
    name = present[0]
    if name in CONVERTERS:
        return CONVERTERS[name](getattr(message, name))
    # Video, sticker, document, contact, poll…: the caption, when there is one, still reads as text.
    return UNSUPPORTED, getattr(getattr(message, name), "caption", "") or "", {"type": name}


def inbound_from_event(event, resolve_lid: Callable | None = None) -> Inbound | None:
    """neonize's MessageEv as the bridge's Inbound; None for what the bridge must not answer."""
    info = event.Info
    source = info.MessageSource
    if not is_direct_chat(source) or event.IsEdit:
        return None
    content = message_content(event.Message)
    if content is None:
        return None
    phone = sender_phone(source, resolve_lid)
    if phone is None:
        log.warning("message from a sender without a known phone ignored", extra={"message_id": info.ID})
        return None
    kind, text, details = content
    if kind == REACTION and not details["reacted_to"]:
        log.warning("reaction without the id of its message ignored", extra={"message_id": info.ID})
        return None
    return Inbound(phone=phone, message_id=info.ID, kind=kind, text=text.strip(), name=info.Pushname or None,
                   timestamp=event_timestamp(info.Timestamp), details=details)


def statuses_from_receipt(event) -> list[tuple[str, str]]:
    """(message id, 'delivered'|'read') for the recipient's receipts of what we sent."""
    source = event.MessageSource
    if source.IsFromMe or source.IsGroup or not event.HasField("Type"):
        return []  # our other devices' read-self / sender receipts, or a group's
    status = RECEIPT_STATUSES.get(enum_name(event, "Type"))
    return [(message_id, status) for message_id in event.MessageIDs] if status else []


def enum_name(message, field: str) -> str | None:
    """The name of a protobuf enum field's value; None when unset or unknown to this build."""
    if not message.HasField(field):
        return None
    value = message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number.get(getattr(message, field))
    return value.name if value is not None else None


def match_button(text: str, buttons: tuple[Button, ...]) -> Button | None:
    """The button a typed answer picks from our numbered list: '2', '2.' or the title itself."""
    typed = text.strip().rstrip(".)").strip()
    if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1]
    return next((button for button in buttons if button.title.strip().casefold() == typed.casefold()), None)


# -- outbound -----------------------------------------------------------------------------------------
def render_buttons(text: str, buttons: tuple[Button, ...]) -> str:
    """Buttons are unreliable on WhatsApp Web (often not shown at all): a numbered list is."""
    options = "\n".join(f"{number}. {button.title}" for number, button in enumerate(buttons, 1))
    if not buttons or options in text:  # the backend's text may already number them
        return text
    return f"{text}\n\n{options}" if text else options


def template_text(template: Template) -> str:
    """Templates are a Cloud API concept; here their parameters are just the message."""
    return "\n".join(parameter for parameter in template.body_parameters if parameter)


def outbound_text(message: Outbound) -> str:
    if message.template is not None:
        return template_text(message.template) or message.text
    return render_buttons(message.text, message.buttons)
