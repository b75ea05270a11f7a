"""Reading the WhatsApp Business Cloud API's webhooks: the signature first, then the payload.

Meta signs every POST with HMAC-SHA256 of the raw body under the app secret
(`X-Hub-Signature-256: sha256=<hex>`); nothing is parsed before that matches. A payload holds
entries of changes; a `messages` change carries new messages and/or status updates of messages
we sent.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from chasqui.http_input import is_text
from whatsapp_bridge.messages import AUDIO, BUTTON_REPLY, IMAGE, LOCATION, REACTION, TEXT, UNSUPPORTED, Inbound


# E.164 without its "+", in ASCII digits: 16 digits, or "٥١…", could only ever be answered with a refusal.
_PHONE_DIGITS = re.compile(r"[1-9][0-9]{7,14}", re.ASCII)


class MalformedPayload(ValueError):
    pass


@dataclass(frozen=True)
class StatusUpdate:
    provider_message_id: str
    status: str  # sent, delivered, read, failed
    recipient: str
    error: str | None = None


def signature_matches(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    if not header or not header.startswith("sha256=") or not app_secret:
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):].strip().lower(), expected)


@dataclass
class Payload:
    messages: list[Inbound]
    statuses: list[StatusUpdate]
    problems: list[str]  # the parts that could not be read, each said once: acknowledged, not retried
    other_numbers: int = 0  # changes for another business number of the same app: not ours to answer


def parse_payload(payload: object, phone_number_id: str = "") -> Payload:
    """A body that is no WhatsApp webhook at all raises MalformedPayload. Inside one, a broken
    part (a message without its id, a `profile` that is a string) is skipped and named in
    `problems`: the rest is read, so Meta, which retries any failed webhook, does not send the
    whole body again forever. Meta sends every number of an app to the same webhook address: with
    `phone_number_id`, a change whose metadata names another number is left to that number's
    bridge (counted, not read)."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise MalformedPayload("not a WhatsApp Business Account webhook ('object' must be 'whatsapp_business_account')")
    read = Payload([], [], [])
    for entry in _list(payload, "entry"):
        for change in _list(entry, "changes"):
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue  # other fields (account updates, templates) are not the bridge's business
            value = change.get("value")
            if not isinstance(value, dict):
                read.problems.append("a 'messages' change without a 'value' object")
                continue
            number = _dict(value.get("metadata")).get("phone_number_id")
            if phone_number_id and isinstance(number, str) and number != phone_number_id:
                read.other_numbers += 1
                continue
            names = {c["wa_id"]: _dict(c.get("profile")).get("name") for c in _list(value, "contacts")
                     if isinstance(c, dict) and isinstance(c.get("wa_id"), str)}
            for part in _list(value, "messages"):
                _read_part(lambda: read.messages.append(_message(part, names)), read.problems)
            for part in _list(value, "statuses"):
                _read_part(lambda: read.statuses.append(_status(part)), read.problems)
    return read


def _read_part(read, problems: list[str]) -> None:
    try:
        read()
    except MalformedPayload as problem:
        problems.append(str(problem))


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) and is_text(value) else ""


def _message(raw: object, names: dict) -> Inbound:
    if not isinstance(raw, dict) or not isinstance(raw.get("from"), str) or not isinstance(raw.get("id"), str):
        raise MalformedPayload("a message without 'from' and 'id'")
    if not _PHONE_DIGITS.fullmatch(raw["from"].lstrip("+")):  # the backend takes no other (E.164)
        raise MalformedPayload("a message whose 'from' is not a phone number")
    if not is_text(raw["id"]) or not raw["id"].strip():
        raise MalformedPayload("a message whose 'id' is not text")
    kind = raw.get("type")
    text, details, inbound_kind = "", {}, UNSUPPORTED
    body = raw.get(kind) if isinstance(kind, str) and isinstance(raw.get(kind), dict) else {}
    if kind == "text":
        inbound_kind, text = TEXT, _text(body.get("body"))
    elif kind == "interactive":  # a tap on one of our reply buttons or list rows
        reply = _dict(body.get("button_reply")) or _dict(body.get("list_reply"))
        inbound_kind, text, details = BUTTON_REPLY, _text(reply.get("title")), {"button_id": _text(reply.get("id"))}
    elif kind == "button":  # a tap on a template's quick-reply button
        inbound_kind, text, details = BUTTON_REPLY, _text(body.get("text")), {"button_id": _text(body.get("payload"))}
    elif kind == "location":
        inbound_kind = LOCATION
        details = {key: body.get(key) for key in ("latitude", "longitude", "name", "address")}
        text = _location_text(details)
    elif kind in ("audio", "voice"):
        inbound_kind, details = AUDIO, {"media_id": _text(body.get("id")), "mime_type": _text(body.get("mime_type")),
                                        "voice": body.get("voice") is True}
    elif kind == "reaction":  # an emoji on one of our messages; Meta leaves `emoji` out when it is removed
        if not _text(body.get("message_id")).strip():
            raise MalformedPayload("a reaction without 'reaction.message_id'")
        inbound_kind, details = REACTION, {"reacted_to": body["message_id"], "emoji": _text(body.get("emoji"))}
    elif kind == "image":
        inbound_kind = IMAGE
        details = {"media_id": _text(body.get("id")), "mime_type": _text(body.get("mime_type"))}
        text = _text(body.get("caption"))  # a caption is still words the backend can read
    else:
        details = {"type": _text(kind)}
    timestamp = raw.get("timestamp")
    return Inbound(phone="+" + raw["from"].lstrip("+"), message_id=raw["id"], kind=inbound_kind, text=text.strip(),
                   name=_text(names.get(raw["from"])) or None,
                   timestamp=float(timestamp) if isinstance(timestamp, str | int) and str(timestamp).isascii()
                   and str(timestamp).isdigit() and len(str(timestamp)) <= 12 else None,
                   details=details)


def _location_text(details: dict) -> str:
    """Coordinates as words the backend stores and the model can read ("mi lote está aquí")."""
    if details.get("latitude") is None or details.get("longitude") is None:
        return ""
    place = ", ".join(str(details[k]) for k in ("name", "address") if details.get(k))
    return f"Mi ubicación: {details['latitude']}, {details['longitude']}" + (f" ({place})" if place else "")


def _status(raw: object) -> StatusUpdate:
    if not isinstance(raw, dict) or not _text(raw.get("id")) or not _text(raw.get("status")):
        raise MalformedPayload("a status without 'id' and 'status'")
    errors = raw.get("errors") if isinstance(raw.get("errors"), list) else []
    error = "; ".join(f"{e.get('code')} {_text(e.get('title')) or _text(e.get('message'))}".strip()
                      for e in errors if isinstance(e, dict)) or None
    return StatusUpdate(raw["id"], raw["status"], "+" + str(raw.get("recipient_id", "")).lstrip("+"), error)


def _list(container: object, key: str) -> list:
    value = container.get(key, []) if isinstance(container, dict) else None
    if not isinstance(value, list):
        raise MalformedPayload(f"'{key}' must be a list")
    return value
