"""The simulator: WhatsApp on a web page served by the bridge, for local use and tests. Pick or
type a phone number, write, and see replies and alerts arrive as they would on a phone.

It is a transport like the others: what the page sends becomes an Inbound for the relay, and
what the bridge sends lands in the page's conversation. Conversations live in memory (the
backend keeps the real record). It has no login: it listens where the bridge listens, 127.0.0.1
by default, and the bridge refuses any other address unless BRIDGE_SIMULATOR_ALLOW_NETWORK=1
(whatsapp_bridge/settings.py). Its page sends a strict CSP (chasqui/security_headers.py).

A voice note (recorded on the page's microphone, or an audio file picked) is posted as
multipart/form-data to /simulator/api/voice and handed to the relay with its bytes inside, as a
provider's would be once fetched. A reaction (👍 👎 ❤️ under a bot bubble) is posted to
/simulator/api/reactions naming the bubble's id, as WhatsApp names the reacted message. A document
the bridge sends is kept in memory and downloaded from /simulator/api/documents/<id>.
"""
from __future__ import annotations

import base64
import itertools
import mimetypes
import threading
import time
import uuid
from collections import defaultdict
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from chasqui.http_errors import ApiError, bad_request
from chasqui.http_input import parse_json_body
from chasqui.security_headers import NONCE, add_nosniff, add_page_headers, csp_nonce, page_policy
from whatsapp_bridge.media import MAX_AUDIO_BYTES, AudioFile, MediaUnavailable, checked_audio
from whatsapp_bridge.messages import AUDIO, BUTTON_REPLY, TEXT, Inbound, Outbound, reaction
from whatsapp_bridge.transports.base import OnMessage, OnStatus

MAX_TEXT_CHARS = 4096  # WhatsApp's own limit: the page cannot send more than a phone could
MAX_EMOJI_CHARS = 16  # one emoji, skin tone and joiners included; anything longer is no reaction
FORM_OVERHEAD_BYTES = 64 * 1024  # a voice note's multipart body: the audio, plus its fields and boundaries
# The page loads nothing but itself and its API: its inline style and script carry the nonce.
# Pictures arrive as data: URLs (or, from a plug-in, an https link the phone would open too); an
# audio file picked is read from its own blob: URL to learn its length.
PAGE_POLICY = page_policy(default_src=("'none'",), style_src=(NONCE,), img_src=("'self'", "data:", "https:"),
                          media_src=("blob:",), connect_src=("'self'",), form_action=("'none'",))


class SimulatorTransport:
    name = "simulator"

    def __init__(self, max_audio_bytes: int = MAX_AUDIO_BYTES):
        self.max_audio_bytes = max_audio_bytes
        self._conversations: dict[str, list[dict]] = defaultdict(list)
        self._typing: dict[str, float] = {}
        self._sequence = itertools.count(1)
        self._changed = threading.Condition()
        self._on_message: OnMessage | None = None
        self._documents: dict[str, tuple[bytes, str, str]] = {}  # provider id -> (bytes, name, type)

    # -- Transport -------------------------------------------------------------------------------
    def start(self, on_message: OnMessage, on_status: OnStatus) -> None:
        self._on_message = on_message

    def stop(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def send(self, message: Outbound) -> str:
        provider_id = f"sim.{uuid.uuid4().hex[:16]}"
        text = message.text
        if message.template and not text:
            text = " ".join(message.template.body_parameters)
        image_url = message.image_url
        if message.image is not None:  # the page shows it inline; the bytes never touch the disk
            image_url = "data:image/png;base64," + base64.b64encode(message.image).decode()
        item = {"id": provider_id, "from": "chasqui", "text": text, "kind": message.purpose,
                "buttons": [{"id": b.id, "title": b.title} for b in message.buttons], "image_url": image_url,
                "officer": message.officer}
        if message.document is not None:
            name, kind = message.document_name or "documento", message.document_type or "application/octet-stream"
            with self._changed:
                self._documents[provider_id] = (message.document, name, kind)
            item["document"] = {"name": name, "type": kind, "bytes": len(message.document),
                                "url": f"/simulator/api/documents/{provider_id}"}
        self._append(message.phone, item)
        return provider_id

    def fetch_audio(self, inbound_message_id: str, media: dict) -> AudioFile:
        # The page's notes come with their bytes, kept with the inbox row in the same statement.
        raise MediaUnavailable("the simulator has no audio to fetch: its notes come with their bytes",
                               retryable=False)

    def show_typing(self, phone: str, inbound_message_id: str | None) -> None:
        with self._changed:
            self._typing[phone] = time.time() + 25  # WhatsApp shows it for up to 25 s or until the reply
            self._changed.notify_all()

    def stop_typing(self, phone: str) -> None:
        with self._changed:
            self._typing.pop(phone, None)
            self._changed.notify_all()

    def health(self) -> dict:
        return {"ok": True, "transport": self.name, "conversations": len(self._conversations)}

    # -- the page and its API -----------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        simulator = Blueprint("simulator", __name__, url_prefix="/simulator", template_folder="../templates")

        @simulator.get("/")
        def page():
            return render_template("simulator.html", csp_nonce=csp_nonce(), max_audio_bytes=self.max_audio_bytes)

        @simulator.after_request
        def security_headers(response: Response) -> Response:
            if response.mimetype == "text/html":
                return add_page_headers(response, PAGE_POLICY)
            return add_nosniff(response)

        @simulator.post("/api/messages")
        def send_from_phone():
            body = parse_json_body()
            if not isinstance(body, dict):
                raise bad_request("send a JSON object: {\"phone\": \"+51987654321\", \"text\": \"Hola\"}")
            phone = _phone(body.get("phone"))
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request("'text' must be a non-empty string", "text")
            if len(text) > MAX_TEXT_CHARS:
                raise bad_request(f"'text' is longer than WhatsApp's {MAX_TEXT_CHARS} characters", "text")
            button_id = body.get("button_id")
            message = Inbound(phone, f"sim.in.{uuid.uuid4().hex[:16]}", BUTTON_REPLY if button_id else TEXT,
                              text.strip(), timestamp=time.time(), details={"button_id": button_id} if button_id else {})
            self._append(phone, {"id": message.message_id, "from": "user", "text": message.text, "kind": "message"})
            self._on_message(message)
            return jsonify({"id": message.message_id}), 202

        @simulator.post("/api/voice")
        def voice_from_phone():
            phone, audio, seconds = self._voice_form()
            message = Inbound(phone, f"sim.in.{uuid.uuid4().hex[:16]}", AUDIO, timestamp=time.time(),
                              details={"audio": audio.data, "mime_type": audio.mime_type, "seconds": seconds})
            self._append(phone, {"id": message.message_id, "from": "user", "text": voice_label(seconds),
                                 "kind": "voice"})
            self._on_message(message)
            return jsonify({"id": message.message_id, "bytes": len(audio.data)}), 202

        @simulator.post("/api/reactions")
        def react_from_phone():
            body = parse_json_body()
            if not isinstance(body, dict):
                raise bad_request("send a JSON object: {\"phone\": \"+51987654321\", \"message_id\": \"sim.…\", "
                                  "\"emoji\": \"👍\"} (\"emoji\": \"\" takes the reaction away)")
            phone = _phone(body.get("phone"))
            reacted_to, emoji = body.get("message_id"), body.get("emoji")
            if not isinstance(emoji, str) or len(emoji) > MAX_EMOJI_CHARS or emoji.strip() != emoji:
                raise bad_request("'emoji' must be one emoji, or \"\" to take the reaction away", "emoji")
            if not any(m["id"] == reacted_to and m["from"] == "chasqui" for m in self.conversation(phone)):
                raise bad_request("'message_id' must be the id of a message Chasqui sent to this phone",
                                  "message_id")
            message = reaction(phone, f"sim.in.{uuid.uuid4().hex[:16]}", reacted_to, emoji, timestamp=time.time())
            self._append(phone, {"id": message.message_id, "from": "user", "text": emoji, "kind": "reaction",
                                 "reacted_to": reacted_to})
            self._on_message(message)
            return jsonify({"id": message.message_id}), 202

        @simulator.get("/api/documents/<provider_id>")
        def document(provider_id: str):
            with self._changed:
                kept = self._documents.get(provider_id)
            if kept is None:
                raise ApiError(404, "not_found", "no such document (the simulator keeps them in memory only)")
            data, name, kind = kept
            response = Response(data, mimetype=kind)
            response.headers["Content-Disposition"] = _attachment(name)
            response.headers["Content-Security-Policy"] = "sandbox"  # opened, not downloaded: still inert
            return response

        @simulator.get("/api/messages")
        def conversation():
            phone = _phone(request.args.get("phone"))
            after = _whole_number(request.args.get("after", "0"), "after")
            wait_s = min(_whole_number(request.args.get("wait", "0"), "wait"), 25)
            return jsonify(self._read(phone, after, wait_s))

        @simulator.get("/api/phones")
        def phones():
            return jsonify({"phones": sorted(self._conversations)})

        return simulator

    def _voice_form(self) -> tuple[str, AudioFile, float | None]:
        """(phone, audio, seconds) of a posted voice note: multipart fields `phone`, `seconds`
        (optional, as the page measured it) and the file part `file`, checked as a provider's."""
        if request.mimetype != "multipart/form-data":
            raise bad_request("send multipart/form-data with 'phone' and the audio as the part 'file'", "file")
        request.max_content_length = self.max_audio_bytes + FORM_OVERHEAD_BYTES  # the app's is for JSON
        try:
            form, files = request.form, request.files
        except RequestEntityTooLarge:
            raise _too_large(self.max_audio_bytes) from None
        phone = _phone(form.get("phone"))
        upload = files.get("file")
        if upload is None:
            raise bad_request("the audio must come as the multipart part 'file'", "file")
        data = upload.read(self.max_audio_bytes + 1)
        mime_type = upload.mimetype if upload.mimetype not in ("", "application/octet-stream") else \
            mimetypes.guess_type(upload.filename or "")[0]
        try:
            audio = checked_audio(data, mime_type, self.max_audio_bytes)
        except MediaUnavailable as problem:
            if problem.code == "too_large":
                raise _too_large(self.max_audio_bytes) from None
            raise bad_request(f"'file' {problem}", "file", code="not_audio") from None
        # the part's own parameters too ("audio/webm;codecs=opus"): the decoder reads them
        full_type = upload.content_type if upload.mimetype == mime_type else mime_type
        return phone, AudioFile(audio.data, full_type), _seconds(form.get("seconds"))

    def conversation(self, phone: str) -> list[dict]:
        """Everything said with one phone, oldest first (for tests and benchmarks)."""
        with self._changed:
            return list(self._conversations[phone])

    def _append(self, phone: str, item: dict) -> None:
        with self._changed:
            item.update(seq=next(self._sequence), at=time.time())
            self._conversations[phone].append(item)
            if item["from"] == "chasqui" and item["kind"] != "holding":
                self._typing.pop(phone, None)
            self._changed.notify_all()

    def _read(self, phone: str, after: int, wait_s: float) -> dict:
        """Messages after `after`; waits up to `wait_s` for one, so the page hears news at once."""
        deadline = time.monotonic() + wait_s
        with self._changed:
            typing_before = self._typing.get(phone, 0) > time.time()
            while True:
                news = [m for m in self._conversations.get(phone, []) if m["seq"] > after]
                typing = self._typing.get(phone, 0) > time.time()
                remaining = deadline - time.monotonic()
                if news or typing != typing_before or remaining <= 0:
                    break
                self._changed.wait(remaining)
        return {"messages": news, "typing": typing}


def _attachment(name: str) -> str:
    """Content-Disposition for a download, the name in RFC 5987 form so that «ñ» survives."""
    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _phone(raw: object) -> str:
    digits = "".join(ch for ch in str(raw or "") if ch.isascii() and ch.isdigit())
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise bad_request("'phone' must be a number in international form, e.g. +51987654321", "phone")
    return "+" + digits


def voice_label(seconds: float | None) -> str:
    """How the page shows the user's note (the simulator keeps no audio to play back)."""
    return f"🎙️ nota de voz ({round(seconds)} s)" if seconds is not None else "🎙️ nota de voz"


def _seconds(raw: object) -> float | None:
    """The note's length as the page measured it; anything unusable is left unknown."""
    try:
        seconds = float(str(raw))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 24 * 3600 else None  # NaN and infinities fail both


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "audio_too_large", f"the audio is larger than {limit} bytes (WhatsApp's limit, "
                                            "BRIDGE_MAX_AUDIO_BYTES)", "file")


def _whole_number(raw: str, name: str) -> int:
    try:
        return max(0, int(raw))
    except ValueError:
        raise bad_request(f"'{name}' must be a whole number", name) from None
