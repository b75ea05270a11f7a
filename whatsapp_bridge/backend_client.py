"""The bridge's calls to the backend: POST /agent for each message (POST /agent/voice for a voice
note, POST /agent/reaction for a reaction), and the outbound queue (GET /alerts/pending, an
alert's picture or document, POST /alerts/<id>/sent|failed, POST /alerts/delivery), all with the
bearer token. The contracts: docs/officers_desk.md."""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import requests

from whatsapp_bridge.media import file_name

MAX_DOCUMENT_BYTES = 100 * 1024 * 1024  # WhatsApp's own limit for a document
STREAM_TYPE = "application/x-ndjson"


class BackendUnavailable(RuntimeError):
    """The backend did not answer usably; the caller keeps what it was doing for later. `status`
    is the HTTP status when the backend answered at all (a 500, a 503), else None."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class BackendRefused(RuntimeError):
    """The backend answered 4xx: sending the same request again will not help."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


class BackendClient:
    def __init__(self, base_url: str, token: str, timeout_s: float, speech_timeout_s: float = 90.0,
                 channel: str = ""):
        self.base_url = base_url.rstrip("/")
        # The business number this bridge speaks as (BridgeSettings.channel): sent with every
        # message, and alert claims ask only for alerts to people who last wrote to it.
        self._channel = {"channel": channel} if channel else {}
        self.timeout_s = timeout_s
        # A voice note is heard first (the backend waits up to its BACKEND_SPEECH_TIMEOUT for the
        # speech engine), then answered like a text: both waits, one after the other.
        self.voice_timeout_s = timeout_s + speech_timeout_s
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = requests.Session()

    def agent(self, phone: str, message: str, message_id: str | None, name: str | None = None,
              on_typing: Callable[[], None] | None = None) -> dict:
        """The backend's answer to one message: {"model_output": {...}, "source", "opciones"?...}.
        `name` is the WhatsApp profile name: the backend uses it instead of asking. `on_typing` is
        called when a model starts writing the answer (the backend's NDJSON answer, see
        backend/agent/streamed_answer.py); never for a turn answered without one."""
        body = {"phone": phone, "message": message, "role": "consulta", **self._channel}
        if name:
            body["name"] = name
        if message_id:
            body["message_id"] = message_id  # a retry after a timeout is then answered, not re-asked
        return self._call("POST", "/agent", json=body, timeout=self.timeout_s, on_typing=on_typing)

    def voice(self, phone: str, audio: bytes, mime_type: str, message_id: str, name: str | None = None,
              on_typing: Callable[[], None] | None = None) -> dict:
        """The backend's answer to a voice note: /agent's answer plus "transcript" (what it heard,
        "" for nothing). `message_id` is required: a repeat is answered from the backend's store,
        not transcribed again."""
        fields = {"phone": phone, "message_id": message_id, "role": "consulta", **self._channel}
        if name:
            fields["name"] = name
        return self._call("POST", "/agent/voice", data=fields, files={"file": (file_name(mime_type), audio, mime_type)},
                          timeout=self.voice_timeout_s, on_typing=on_typing)

    def reaction(self, phone: str, message_id: str, reacted_to: str, emoji: str, reply_to: str | None) -> dict:
        """The backend's answer to a reaction: {"rating": 1|-1|0|null, "respuesta_chat": str|null}.
        `reply_to` (the inbound message the reacted reply answered) is left out when unknown."""
        body = {"phone": phone, "message_id": message_id, "reacted_to": reacted_to, "emoji": emoji}
        if reply_to:
            body["reply_to"] = reply_to
        return self._call("POST", "/agent/reaction", json=body, timeout=self.timeout_s)

    def claim_alerts(self, limit: int, wait_s: float = 0.0) -> list[dict]:
        params = {"limit": limit, **self._channel}
        if wait_s:
            params["wait"] = f"{wait_s:g}"
        return self._call("GET", "/alerts/pending", params=params, timeout=wait_s + 10)["alerts"]

    def alert_image(self, image_url: str) -> bytes:
        """An alert's picture, from the backend (`image_url` is relative to it, behind the token)."""
        content = self._file(image_url, 16 * 1024 * 1024)
        if not content.startswith(b"\x89PNG"):
            raise BackendUnavailable(f"GET {image_url}: not a PNG")
        return content

    def alert_document(self, document_url: str) -> bytes:
        """A document item's file (`document_url`, e.g. /alerts/<id>/document, behind the token)."""
        return self._file(document_url, MAX_DOCUMENT_BYTES)

    def _file(self, path: str, limit: int) -> bytes:
        """The bytes at a backend path; BackendUnavailable unless a 200 with 1 to `limit` bytes."""
        try:
            with self._session.get(f"{self.base_url}{path}", headers=self._headers, timeout=30,
                                   stream=True) as response:
                if response.status_code != 200:
                    raise BackendUnavailable(f"GET {path}: HTTP {response.status_code}", response.status_code)
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise BackendUnavailable(f"GET {path}: larger than {limit} bytes")
        except requests.RequestException as problem:
            raise BackendUnavailable(f"GET {path}: {type(problem).__name__}") from None
        if not body:
            raise BackendUnavailable(f"GET {path}: empty")
        return bytes(body)

    def alert_sent(self, alert_id: int, lease_token: str | None, provider_message_id: str) -> None:
        self._call("POST", f"/alerts/{alert_id}/sent", timeout=10,
                   json={"lease_token": lease_token, "provider_message_id": provider_message_id})

    def alert_failed(self, alert_id: int, lease_token: str | None, error: str) -> None:
        self._call("POST", f"/alerts/{alert_id}/failed", timeout=10,
                   json={"lease_token": lease_token, "error": error[:500]})

    def alert_release(self, alert_id: int, lease_token: str | None) -> None:
        self._call("POST", f"/alerts/{alert_id}/release", timeout=10, json={"lease_token": lease_token})

    def alert_delivery(self, provider_message_id: str, status: str, error: str | None) -> bool:
        """False when the message was not an alert (most status reports are about chat replies)."""
        try:
            self._call("POST", "/alerts/delivery", timeout=10,
                       json={"provider_message_id": provider_message_id, "status": status, "error": error})
        except BackendRefused as problem:
            if problem.status == 404:
                return False
            raise
        return True

    def health(self) -> bool:
        try:
            return self._session.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _call(self, method: str, path: str, timeout: float, on_typing: Callable[[], None] | None = None,
              **kwargs) -> dict:
        headers = {**self._headers, "Accept": f"{STREAM_TYPE}, application/json"} if on_typing else self._headers
        try:
            response = self._session.request(method, f"{self.base_url}{path}", headers=headers, timeout=timeout,
                                             stream=on_typing is not None, **kwargs)
            if response.status_code == 200 and response.headers.get("Content-Type", "").startswith(STREAM_TYPE):
                return _streamed(response, on_typing, f"{method} {path}", time.monotonic() + timeout)
        except requests.RequestException as problem:
            raise BackendUnavailable(f"{method} {path}: {type(problem).__name__}") from None
        if response.status_code not in (200, 201):
            raise _failure(response.status_code, response.text, f"{method} {path}")
        try:
            return response.json()
        except ValueError:
            raise BackendUnavailable(f"{method} {path}: the answer is not JSON") from None


def _streamed(response: requests.Response, on_typing: Callable[[], None], what: str, deadline: float) -> dict:
    """/agent's NDJSON answer: `typing` lines, then the `reply` or an `error` with its status."""
    with response:
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                raise BackendUnavailable(f"{what}: no reply in time")
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                raise BackendUnavailable(f"{what}: a line of the answer is not JSON") from None
            kind = event.pop("event", None) if isinstance(event, dict) else None
            if kind == "typing":
                on_typing()
            elif kind == "reply":
                return event
            elif kind == "error":
                status = event.get("status") if isinstance(event.get("status"), int) else 500
                body = json.dumps(event.get("error"), ensure_ascii=False)
                raise _failure(status, body, f"{what} (after the model began)")
    raise BackendUnavailable(f"{what}: the answer ended before the reply")


def _failure(status: int, body: str, what: str) -> RuntimeError:
    """A status other than 200/201, as the caller acts on it: a refusal (sending the same again
    will not help) or the backend unavailable (the message is kept for later)."""
    if status in (401, 403):
        # Our configuration is wrong, not the message: keep it until an operator fixes the token.
        return BackendUnavailable(f"{what}: the backend refused the bridge's token (check BACKEND_TOKEN)")
    if 400 <= status < 500 and status not in (408, 429):
        return BackendRefused(status, body)
    return BackendUnavailable(f"{what}: HTTP {status}", status)
