"""Builders for the webhook deliveries Meta POSTs to the bridge, as Python dicts, plus signing.

Every builder returns one whole delivery, `{"object": "whatsapp_business_account", "entry": [...]}`,
ready to sign and POST; `batch()` merges several into one delivery, as Meta sometimes does.

Where each shape comes from (Meta for Developers, WhatsApp Business Platform docs):
- "messages webhook reference": the envelope (entry[].id is the WhatsApp Business Account id,
  changes[].field "messages", value.messaging_product/metadata/contacts/messages).
- "Text", "Interactive" (button_reply, list_reply), "Location", "Audio", "Image" and "Sticker"
  messages webhook references: the per-type objects. Replies to an interactive message carry a
  `context` naming the business number and the message that was answered.
- "Unsupported messages webhook reference": type "unsupported" with errors[] code 131051.
- "Reaction messages webhook reference": type "reaction", reaction.message_id (the business's
  message reacted to, within 30 days) and reaction.emoji; a removed reaction comes without emoji.
- "Status messages webhook reference": value.statuses[] (sent, delivered, read, failed) with
  optional conversation and pricing objects, and errors[] on failures.
- Graph API "Webhooks: Getting started", Event Notifications: the X-Hub-Signature-256 header,
  "sha256=" + HMAC-SHA256 of the raw body keyed with the app secret, computed over the body
  with non-ASCII characters escaped (\\u00f1, lowercase hex). `raw_json()` writes bodies that way,
  so a receiver that re-serialises the JSON before checking the signature fails, as it would live.
- "Error codes": the titles in ERROR_TITLES.

As Meta does: phones appear as digits only (no "+"), timestamps are strings of Unix seconds and
message ids look like "wamid.HBgL...". Every message builder also takes the keywords
phone_number_id, display_phone_number and waba_id, to address another business number.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

# Ids of the fake business. PHONE_NUMBER_ID matches FakeGraphAPI's default.
WABA_ID = "104996482500000"
PHONE_NUMBER_ID = "123456789012345"
DISPLAY_PHONE_NUMBER = "15550001234"

# Graph error codes the tests meet, with the titles Meta's "Error codes" page gives them.
ERROR_TITLES = {
    100: "Invalid parameter",
    190: "Access token has expired",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131009: "Parameter value is not valid",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131051: "Unsupported message type",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
}

# Our own wording of what each code means, for error_data.details.
ERROR_DETAILS = {
    130429: "Too many messages per second from this business number; slow down and retry.",
    131000: "The request failed for an unknown reason; it can be retried.",
    131026: "The message could not be delivered to this WhatsApp user.",
    131047: "More than 24 hours since the user last wrote: only a template message can be sent.",
    131051: "Message type is currently not supported.",
}


def digits_only(phone: str) -> str:
    """'+51 987-654-321' -> '51987654321': the form Meta uses for wa_id and from."""
    return "".join(ch for ch in str(phone) if ch.isdigit())


def new_wamid(phone: str = "") -> str:
    """A unique message id shaped like Meta's: 'wamid.' + base64 of the number and a random part."""
    raw = digits_only(phone).encode() + b"\x15\x02\x00\x12\x18\x14" + uuid.uuid4().hex[:20].upper().encode()
    return "wamid.HBgL" + base64.b64encode(raw).decode()


def _timestamp(timestamp: float | int | str | None) -> str:
    return str(int(time.time() if timestamp is None else float(timestamp)))


def _media_id() -> str:
    return str(10 ** 15 + secrets.randbelow(9 * 10 ** 15))


def _sha256() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _delivery(value: dict, waba_id: str = WABA_ID) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}]}


def _value(phone_number_id: str, display_phone_number: str) -> dict:
    return {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}}


def _inbound(from_phone: str, kind: str, fields: dict, *, message_id: str | None = None, name: str | None = "Rosa",
             timestamp=None, context_id: str | None = None, phone_number_id: str = PHONE_NUMBER_ID,
             display_phone_number: str = DISPLAY_PHONE_NUMBER, waba_id: str = WABA_ID) -> dict:
    """One incoming message from `from_phone`; `fields` is the type-specific part."""
    wa_id = digits_only(from_phone)
    message = {"from": wa_id, "id": message_id or new_wamid(wa_id), "timestamp": _timestamp(timestamp), "type": kind}
    if context_id:  # the user answered one of our messages (buttons, lists)
        message["context"] = {"from": display_phone_number, "id": context_id}
    message.update(fields)
    value = _value(phone_number_id, display_phone_number)
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}] if name is not None else [{"wa_id": wa_id}]
    value["messages"] = [message]
    return _delivery(value, waba_id)


def text_message(from_phone: str, body: str, message_id: str | None = None, name: str | None = "Rosa",
                 timestamp=None, **ids) -> dict:
    return _inbound(from_phone, "text", {"text": {"body": body}}, message_id=message_id, name=name,
                    timestamp=timestamp, **ids)


def button_reply(from_phone: str, button_id: str, title: str, message_id: str | None = None,
                 name: str | None = "Rosa", timestamp=None, context_id: str | None = None, **ids) -> dict:
    """The user tapped a reply button of an interactive message we sent (context_id names it)."""
    fields = {"interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}}
    return _inbound(from_phone, "interactive", fields, message_id=message_id, name=name, timestamp=timestamp,
                    context_id=context_id or new_wamid(), **ids)


def list_reply(from_phone: str, row_id: str, title: str, description: str | None = None,
               message_id: str | None = None, name: str | None = "Rosa", timestamp=None,
               context_id: str | None = None, **ids) -> dict:
    """The user picked a row of an interactive list message we sent."""
    reply = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    fields = {"interactive": {"type": "list_reply", "list_reply": reply}}
    return _inbound(from_phone, "interactive", fields, message_id=message_id, name=name, timestamp=timestamp,
                    context_id=context_id or new_wamid(), **ids)


def location(from_phone: str, latitude: float, longitude: float, name: str | None = None,
             address: str | None = None, message_id: str | None = None, profile_name: str | None = "Rosa",
             timestamp=None, **ids) -> dict:
    """A shared location; `name` and `address` (of the place) only appear when the user picked one.

    `profile_name` is the sender's WhatsApp name (`name` in the other builders)."""
    place = {"latitude": latitude, "longitude": longitude}
    if name is not None:
        place["name"] = name
    if address is not None:
        place["address"] = address
    return _inbound(from_phone, "location", {"location": place}, message_id=message_id, name=profile_name,
                    timestamp=timestamp, **ids)


def audio(from_phone: str, media_id: str | None = None, mime_type: str = "audio/ogg; codecs=opus",
          voice: bool = True, message_id: str | None = None, name: str | None = "Rosa", timestamp=None,
          **ids) -> dict:
    """A voice note (voice=True) or an audio file; the media itself is fetched by id."""
    media = {"mime_type": mime_type, "sha256": _sha256(), "id": media_id or _media_id(), "voice": voice}
    return _inbound(from_phone, "audio", {"audio": media}, message_id=message_id, name=name,
                    timestamp=timestamp, **ids)


def image(from_phone: str, media_id: str | None = None, caption: str | None = None, mime_type: str = "image/jpeg",
          message_id: str | None = None, name: str | None = "Rosa", timestamp=None, **ids) -> dict:
    media = {"mime_type": mime_type, "sha256": _sha256(), "id": media_id or _media_id()}
    if caption is not None:
        media["caption"] = caption
    return _inbound(from_phone, "image", {"image": media}, message_id=message_id, name=name,
                    timestamp=timestamp, **ids)


def reaction(from_phone: str, reacted_to: str, emoji: str | None = "\U0001F44D", message_id: str | None = None,
             name: str | None = "Rosa", timestamp=None, **ids) -> dict:
    """The user reacted with `emoji` to our message `reacted_to`; emoji=None: the reaction was
    taken away (Meta then leaves the emoji field out)."""
    fields = {"message_id": reacted_to}
    if emoji is not None:
        fields["emoji"] = emoji
    return _inbound(from_phone, "reaction", {"reaction": fields}, message_id=message_id, name=name,
                    timestamp=timestamp, **ids)


# Type-specific objects of message types the bridge does not handle, as Meta sends them.
_UNHANDLED_SHAPES = {
    "sticker": lambda: {"mime_type": "image/webp", "sha256": _sha256(), "id": _media_id(), "animated": False},
    "video": lambda: {"mime_type": "video/mp4", "sha256": _sha256(), "id": _media_id()},
    "document": lambda: {"filename": "parcela.pdf", "mime_type": "application/pdf", "sha256": _sha256(),
                         "id": _media_id()},
    "reaction": lambda: {"message_id": new_wamid(), "emoji": "\U0001F44D"},
}


def unknown_type(from_phone: str, type_name: str = "sticker", message_id: str | None = None,
                 name: str | None = "Rosa", timestamp=None, **ids) -> dict:
    """A valid message of a type the bridge does not handle (a sticker by default)."""
    fields = {type_name: _UNHANDLED_SHAPES.get(type_name, dict)()}
    return _inbound(from_phone, type_name, fields, message_id=message_id, name=name, timestamp=timestamp, **ids)


def unsupported(from_phone: str, original_type: str = "edit", message_id: str | None = None,
                name: str | None = "Rosa", timestamp=None, **ids) -> dict:
    """Something Cloud API itself cannot pass on (an edit, a poll...): type 'unsupported', error 131051."""
    fields = {"errors": [error_object(131051)], "unsupported": {"type": original_type}}
    return _inbound(from_phone, "unsupported", fields, message_id=message_id, name=name, timestamp=timestamp, **ids)


def error_object(code: int, details: str | None = None) -> dict:
    """An entry of a webhook errors[] array."""
    title = ERROR_TITLES.get(code, "Error")
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details or ERROR_DETAILS.get(code, title)},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}


def status_update(wamid: str, status: str, recipient_phone: str, errors: list | None = None, timestamp=None,
                  category: str = "service", billable: bool | None = None, conversation: bool = False,
                  phone_number_id: str = PHONE_NUMBER_ID, display_phone_number: str = DISPLAY_PHONE_NUMBER,
                  waba_id: str = WABA_ID) -> dict:
    """What happened to a message we sent: 'sent', 'delivered', 'read' or 'failed'.

    `errors` is a list of Graph codes (131026...) or ready error objects; failed statuses get
    131000 when none is given. Non-failed statuses carry `pricing` (per-message pricing, "PMP");
    `conversation=True` adds the older conversation object too.
    """
    entry = {"id": wamid, "status": status, "timestamp": _timestamp(timestamp),
             "recipient_id": digits_only(recipient_phone)}
    if status == "failed":
        entry["errors"] = [e if isinstance(e, dict) else error_object(e) for e in (errors or [131000])]
    else:
        if conversation:
            entry["conversation"] = {"id": secrets.token_hex(16), "origin": {"type": category}}
            if status == "sent":  # only the first status of a conversation says when it ends
                entry["conversation"]["expiration_timestamp"] = _timestamp(time.time() + 24 * 3600)
        free = category == "service"
        entry["pricing"] = {"billable": (not free) if billable is None else billable, "pricing_model": "PMP",
                            "category": category, "type": "free_customer_service" if free else "regular"}
        if errors:
            entry["errors"] = [e if isinstance(e, dict) else error_object(e) for e in errors]
    value = _value(phone_number_id, display_phone_number)
    value["statuses"] = [entry]
    return _delivery(value, waba_id)


def batch(*payloads: dict) -> dict:
    """Several deliveries merged into one, with one entry each, in order."""
    return {"object": "whatsapp_business_account", "entry": [e for p in payloads for e in p["entry"]]}


def raw_json(payload: dict) -> bytes:
    """The body as Meta writes it: compact, non-ASCII escaped."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sign(raw_body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value for this exact body."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def signed_post_args(payload: dict, app_secret: str) -> tuple[bytes, dict]:
    """(raw body, headers) to POST a delivery as Meta would: requests.post(url, data=body, headers=headers)."""
    body = raw_json(payload)
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)}


def verification_query(verify_token: str, challenge: str = "1158201444") -> dict:
    """Query parameters of the GET Meta sends when the webhook is configured; echo hub.challenge back."""
    return {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
