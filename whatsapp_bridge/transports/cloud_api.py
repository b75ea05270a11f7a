"""Sending through the WhatsApp Business Cloud API (Graph API `POST /{version}/{phone-number-id}/messages`).

requests, not a client library: the bridge needs five documented JSON shapes (text, reply
buttons, image, document, template) plus the typing indicator, and its own rules around them — Retry-After
on 429 and 5xx, a per-number pace, the 24-hour window error — which are what a library would
have to be configured around anyway (pywa was considered; its strength is a handler framework,
which the relay replaces).
"""
from __future__ import annotations

import logging
import threading
import time

import requests

from whatsapp_bridge.messages import Outbound, SendFailed

log = logging.getLogger(__name__)

RETRIES = 3
LONGEST_WAIT_S = 30.0  # a Retry-After longer than this is handed back to the caller's own retry
TIMEOUT_S = 15.0
CAPTION_MAX_CHARS = 1024  # an image's or document's caption ("Image messages", "Document messages")
# Graph API error codes (Cloud API error codes reference).
OUTSIDE_WINDOW = 131047  # re-engagement: more than 24 hours since the user last wrote
THROTTLED = {4, 80007, 130429, 131048, 131056}  # rate limits: wait and try again
TEMPORARY = {1, 2, 131000, 131016}  # Meta's own trouble: try again


class Pacer:
    """At most `per_second` sends, spread evenly: Meta's throughput limit is per phone number."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class CloudAPI:
    def __init__(self, base_url: str, version: str, phone_number_id: str, access_token: str,
                 sends_per_second: float):
        self.url = f"{base_url.rstrip('/')}/{version}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._pacer = Pacer(sends_per_second)
        self._session = requests.Session()

    def send(self, message: Outbound) -> str:
        media_id = None
        if message.document is not None:
            media_id = self.upload_media(message.document, message.document_type or "application/octet-stream",
                                         message.document_name or "documento")
        elif message.image is not None:
            media_id = self.upload_media(message.image, "image/png", "chasqui.png")
        response = self._post("send", self.url, json=message_body(message, media_id))
        return _answer_field(response, lambda body: body["messages"][0]["id"], "message id")

    def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """A file we hold (not at a public URL) goes up first; the message then names its id. Meta
        takes only the types of its "Supported media types" list (documents: text/plain, PDF,
        Word, Excel, PowerPoint; images: JPEG, PNG): any other is refused here, as a failed send."""
        try:
            response = self._post("media upload", self.url.rsplit("/", 1)[0] + "/media",
                                  data={"messaging_product": "whatsapp", "type": mime_type},
                                  files={"file": (filename, data, mime_type)})
        except SendFailed as problem:
            if problem.retryable:
                raise
            # The type first: Meta's reason lists every type it takes, and reports get cut short.
            raise SendFailed(f"Graph API refused the upload of {filename!r} ({mime_type}, {len(data)} bytes): "
                             f"{problem}") from None
        return _answer_field(response, lambda body: body["id"], "media id")

    def _post(self, what: str, url: str, **request) -> requests.Response:
        """POST at the per-number pace; 429, 5xx, Meta's throttling codes and network errors are
        retried after Retry-After (or a doubling wait) while that wait stays short."""
        for attempt in range(RETRIES + 1):
            self._pacer.wait_turn()
            try:
                response = self._session.post(url, headers=self._headers, timeout=TIMEOUT_S, **request)
            except requests.RequestException as problem:
                failure = SendFailed(f"Graph API {what} unreachable: {type(problem).__name__}",
                                     retry_after=2.0 * 2 ** attempt)
            else:
                if response.status_code == 200:
                    return response
                failure = _failure(response, attempt)
            if not failure.retryable or failure.retry_after > LONGEST_WAIT_S or attempt == RETRIES:
                raise failure
            log.warning("Graph API call failed; retrying", extra={"call": what, "error": str(failure),
                                                                  "wait_s": failure.retry_after})
            time.sleep(failure.retry_after)
        raise AssertionError("unreachable")

    def mark_read_and_typing(self, inbound_message_id: str) -> None:
        """Blue ticks and 'typing…' on the user's phone until our reply (or 25 s)."""
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": inbound_message_id,
                "typing_indicator": {"type": "text"}}
        try:
            self._session.post(self.url, json=body, headers=self._headers, timeout=5)
        except requests.RequestException as problem:
            log.info("typing indicator not shown", extra={"error": type(problem).__name__})


def message_body(message: Outbound, media_id: str | None = None) -> dict:
    body: dict = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.phone.lstrip("+")}
    if message.template:
        template = {"name": message.template.name, "language": {"code": message.template.language}}
        if message.template.body_parameters:
            template["components"] = [{"type": "body", "parameters": [
                {"type": "text", "text": value} for value in message.template.body_parameters]}]
        body.update(type="template", template=template)
    elif 0 < len(message.buttons) <= 3:
        body.update(type="interactive", interactive={
            "type": "button", "body": {"text": message.text},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b.id, "title": b.title[:20]}}
                                   for b in message.buttons]}})
    elif message.buttons:  # more than three choices: a list (a crop, a goal)
        body.update(type="interactive", interactive={
            "type": "list", "body": {"text": message.text},
            "action": {"button": "Elegir", "sections": [{"rows": [{"id": b.id, "title": b.title[:24]}
                                                                  for b in message.buttons[:10]]}]}})
    elif message.document is not None:
        document = {"id": media_id, "filename": message.document_name or "documento"}
        if message.text:
            document["caption"] = message.text[:CAPTION_MAX_CHARS]
        body.update(type="document", document=document)
    elif media_id or message.image_url:
        image = {"id": media_id} if media_id else {"link": message.image_url}
        if message.text:
            image["caption"] = message.text[:CAPTION_MAX_CHARS]
        body.update(type="image", image=image)
    else:
        body.update(type="text", text={"preview_url": False, "body": message.text})
    if message.reply_to:
        body["context"] = {"message_id": message.reply_to}
    return body


def _answer_field(response: requests.Response, read, name: str) -> str:
    try:
        return read(response.json())
    except (ValueError, KeyError, IndexError, TypeError):
        raise SendFailed(f"Graph API accepted the request but its answer has no {name}") from None


def _failure(response: requests.Response, attempt: int) -> SendFailed:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    code = error.get("code") if isinstance(error, dict) else None
    reason = f"Graph API HTTP {response.status_code}, code {code}: {(error or {}).get('message', response.text[:200])}"
    if code == OUTSIDE_WINDOW:
        return SendFailed(reason, needs_template=True)
    if response.status_code == 429 or response.status_code >= 500 or code in THROTTLED | TEMPORARY:
        return SendFailed(reason, retry_after=_retry_after(response, default=1.0 * 2 ** attempt))
    return SendFailed(reason)  # our request is wrong or the number cannot be reached: retrying will not help


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default
