"""A local stand-in for Meta's WhatsApp Cloud API (the Graph API `/messages` and `/media` edges),
for tests.

It listens on 127.0.0.1, answers as Graph does and checks every request body strictly against the
documented formats, so a bridge that passes against it sends what Meta accepts. It records what
it accepted and rejected, and injects the failures a live deployment meets: throttling, server
errors, slow answers, the closed 24-hour customer service window.

    with FakeGraphAPI() as fake:
        bridge = Bridge(graph_url=fake.base_url, token=fake.access_token, phone_id=fake.phone_number_id)
        ...
        assert fake.texts_to("+51987654321") == ["Hola"]

Where each rule comes from (Meta for Developers, WhatsApp Business Platform docs):
- "Messages API" reference and "Text messages": the envelope (messaging_product, recipient_type,
  to, type, context), text.body up to 4096 characters, preview_url, and the answer to a send
  (messaging_product, contacts[input, wa_id], messages[id]).
- "Interactive reply buttons messages": 1 to 3 buttons of type "reply", id up to 256 and title up
  to 20 characters, titles and ids unique in the message, body text up to 1024 characters,
  header and footer text up to 60.
- "Interactive list messages": button label up to 20 characters, up to 10 sections holding up to
  10 rows in all, row id 200 / title 24 / description 72 characters, section titles (24) required
  when there are several, body text up to 4096.
- "Image messages": an uploaded media `id` or a hosted `link`, never both; caption up to 1024.
- "Document messages": the same `id` or `link`, an optional caption (up to 1024 characters) and
  an optional filename "with extension" (Meta states no length limit for it).
- "Upload media": multipart/form-data with messaging_product, type and file, answered {"id"}; a
  message naming an id that was never uploaded is error 131053. "Supported media types" lists
  what may be uploaded, with its limit (MEDIA_TYPES): audio AAC, AMR, MP3, MP4 audio, OGG 16 MB;
  documents text/plain, Excel, Word, PowerPoint, PDF 100 MB; images JPEG, PNG 5 MB; stickers
  WebP 500 KB; video 3GPP, MP4 16 MB. Any other type is refused with code 100, worded as Graph does
  ("Param file must be a file with one of the following types: …").
- "Template messages": name, language.code (policy "deterministic"), components with parameters.
- "Mark messages as read" and "Typing indicators": status "read" + message_id, optionally
  typing_indicator {"type": "text"}, answered {"success": true}; a bad message id is error 131009.
- "Error codes" and Graph API "Handling errors": the error object (message, type, code,
  error_data.messaging_product/details, fbtrace_id); 190 bad token, 100 invalid parameter,
  130429 throughput, 131000 unknown, 131026 undeliverable, 131047 outside the 24-hour window.
  Meta lists 130429 with HTTP 400, not 429: `throttle_status` lets a test choose.
- "Throughput": the per-number messages-per-second limit that `max_per_second` imitates.
- "Retrieve media URL" and "Download media": `GET /{version}/{media-id}` with the bearer token
  answers {messaging_product, url, mime_type, sha256 (hex), file_size, id}; the url (on
  lookaside.fbsbx.com, `/whatsapp_business/attachments/?mid=…&ext=…&hash=…`) lasts five minutes
  and answers the bytes only to the same bearer token. An id Graph does not know is its generic
  "Unsupported get request" error (HTTP 400, code 100, error_subcode 33).
"""
from __future__ import annotations

from email import policy as email_policy
from email.parser import BytesParser
import hashlib
import json
import re
import secrets
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.whatsapp_bridge.webhook_payloads import ERROR_DETAILS, ERROR_TITLES, digits_only, new_wamid

SEND_TYPES = ("text", "interactive", "image", "document", "template")
MB = 1024 * 1024
# "Supported media types": MIME type -> the largest file Meta takes of it.
MEDIA_TYPES = {
    "audio/aac": 16 * MB, "audio/amr": 16 * MB, "audio/mpeg": 16 * MB, "audio/mp4": 16 * MB, "audio/ogg": 16 * MB,
    "text/plain": 100 * MB, "application/pdf": 100 * MB, "application/vnd.ms-excel": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
    "image/jpeg": 5 * MB, "image/png": 5 * MB, "image/webp": 500 * 1024,
    "video/3gpp": 16 * MB, "video/mp4": 16 * MB,
}
PHONE = re.compile(r"\+?\d{8,15}")
DEFAULT_CODES = {400: 100, 401: 190, 429: 130429}  # any other injected status: 131000
DOWNLOAD_PATH = "/whatsapp_business/attachments/"  # lookaside.fbsbx.com's, served here on loopback
URL_LIFETIME_S = 300  # a media URL works for five minutes
FAULT_TARGETS = ("messages", "media", "download")  # POST /messages, GET /{media-id}, GET the media URL


class GraphError(Exception):
    """One Graph error answer: HTTP status, Graph code, what is wrong, extra headers."""

    def __init__(self, status: int, code: int, details: str, headers: dict | None = None, message: str | None = None,
                 subcode: int | None = None):
        super().__init__(details)
        self.status, self.code, self.details, self.headers = status, code, details, headers or {}
        self.message = message or f"(#{code}) {ERROR_TITLES.get(code, 'Error')}"
        self.subcode = subcode

    def body(self) -> dict:
        error = {"message": self.message, "type": "OAuthException", "code": self.code,
                 "error_data": {"messaging_product": "whatsapp", "details": self.details},
                 "fbtrace_id": secrets.token_urlsafe(8)}
        if self.code == 190:  # token errors come from Graph itself, not from WhatsApp
            del error["error_data"]
        if self.subcode is not None:  # Graph's own errors about objects (no such id): no WhatsApp details
            error.update(type="GraphMethodException", error_subcode=self.subcode)
            del error["error_data"]
        return {"error": error}


def unknown_object(object_id: str) -> GraphError:
    """What Graph answers for an id it does not know (or that this token may not read)."""
    message = (f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
               "missing permissions, or does not support this operation. Please read the Graph API documentation "
               "at https://developers.facebook.com/docs/graph-api")
    return GraphError(400, 100, message, message=message, subcode=33)


# ---- validation: each function raises GraphError(400, 100, "<what is wrong>") ----

def _fail(details: str, code: int = 100):
    raise GraphError(400, code, details, message=f"(#{code}) {details}")


def _require(condition, details: str, code: int = 100) -> None:
    if not condition:
        _fail(details, code)


def _only_keys(obj: dict, allowed, where: str) -> None:
    extra = sorted(set(obj) - set(allowed))
    _require(not extra, f"{where} has unknown parameter(s): {', '.join(extra)}")


def _object(parent: dict, key: str, where: str) -> dict:
    value = parent.get(key)
    _require(isinstance(value, dict), f"{where}{key} must be an object")
    return value


def _string(parent: dict, key: str, where: str, max_len: int | None = None) -> str:
    value = parent.get(key)
    _require(isinstance(value, str) and value.strip(), f"{where}{key} must be a non-empty string")
    _require(max_len is None or len(value) <= max_len,
             f"{where}{key} is {len(value)} characters long; the maximum is {max_len}")
    return value


def _list(parent: dict, key: str, where: str, low: int, high: int) -> list:
    value = parent.get(key)
    _require(isinstance(value, list), f"{where}{key} must be a list")
    _require(low <= len(value) <= high, f"{where}{key} holds {len(value)} items; it must hold {low} to {high}")
    return value


def _unique(values: list, what: str) -> None:
    _require(len(set(values)) == len(values), f"{what} must be unique within the message")


def validate(body: dict) -> str:
    """Check a request body; returns 'read' for mark-as-read, 'message' for a send."""
    _require(body.get("messaging_product") == "whatsapp", 'messaging_product must be "whatsapp"')
    if "status" in body:
        _validate_read(body)
        return "read"
    _validate_send(body)
    return "message"


def _validate_read(body: dict) -> None:
    _only_keys(body, {"messaging_product", "status", "message_id", "typing_indicator"}, "the request")
    _require(body["status"] == "read", 'status must be "read"')
    _string(body, "message_id", "")
    _require(body["message_id"].startswith("wamid."), "message_id is not a valid WhatsApp message id", code=131009)
    if "typing_indicator" in body:
        indicator = _object(body, "typing_indicator", "")
        _only_keys(indicator, {"type"}, "typing_indicator")
        _require(indicator.get("type") == "text", 'typing_indicator.type must be "text"')


def _validate_send(body: dict) -> None:
    kind = body.get("type", "text")  # Meta assumes text when type is absent
    _require(kind in SEND_TYPES, f"type {kind!r} is not one of {', '.join(SEND_TYPES)}")
    _only_keys(body, {"messaging_product", "recipient_type", "to", "type", "context", "biz_opaque_callback_data",
                      kind}, "the request")
    _require(body.get("recipient_type", "individual") == "individual", 'recipient_type must be "individual"')
    _require(isinstance(body.get("to"), str) and PHONE.fullmatch(body["to"]),
             "to must be a phone number: 8 to 15 digits, optionally after a +")
    if "context" in body:
        context = _object(body, "context", "")
        _only_keys(context, {"message_id"}, "context")
        _string(context, "message_id", "context.")
    if "biz_opaque_callback_data" in body:
        _string(body, "biz_opaque_callback_data", "", 512)
    VALIDATORS[kind](_object(body, kind, ""))


def _validate_text(text: dict) -> None:
    _only_keys(text, {"body", "preview_url"}, "text")
    _string(text, "body", "text.", 4096)
    _require(isinstance(text.get("preview_url", False), bool), "text.preview_url must be true or false")


def _validate_interactive(obj: dict) -> None:
    kind = obj.get("type")
    _require(kind in ("button", "list"), 'interactive.type must be "button" or "list"')
    _only_keys(obj, {"type", "header", "body", "footer", "action"}, "interactive")
    body = _object(obj, "body", "interactive.")
    _only_keys(body, {"text"}, "interactive.body")
    _string(body, "text", "interactive.body.", 1024 if kind == "button" else 4096)
    if "header" in obj:
        _validate_header(_object(obj, "header", "interactive."), kind)
    if "footer" in obj:
        footer = _object(obj, "footer", "interactive.")
        _only_keys(footer, {"text"}, "interactive.footer")
        _string(footer, "text", "interactive.footer.", 60)
    action = _object(obj, "action", "interactive.")
    (_validate_buttons if kind == "button" else _validate_list)(action)


def _validate_header(header: dict, kind: str) -> None:
    allowed = ("text",) if kind == "list" else ("text", "image", "video", "document")
    header_type = header.get("type")
    _require(header_type in allowed, f"interactive.header.type must be one of {', '.join(allowed)}")
    _only_keys(header, {"type", header_type}, "interactive.header")
    if header_type == "text":
        _string(header, "text", "interactive.header.", 60)
    else:
        _validate_media(_object(header, header_type, "interactive.header."), f"interactive.header.{header_type}",
                        caption=False)


def _validate_buttons(action: dict) -> None:
    _only_keys(action, {"buttons"}, "interactive.action")
    buttons = _list(action, "buttons", "interactive.action.", 1, 3)
    ids, titles = [], []
    for i, button in enumerate(buttons):
        where = f"interactive.action.buttons[{i}]"
        _require(isinstance(button, dict) and button.get("type") == "reply", f'{where}.type must be "reply"')
        _only_keys(button, {"type", "reply"}, where)
        reply = _object(button, "reply", f"{where}.")
        _only_keys(reply, {"id", "title"}, f"{where}.reply")
        ids.append(_string(reply, "id", f"{where}.reply.", 256))
        titles.append(_string(reply, "title", f"{where}.reply.", 20))
    _unique(ids, "button ids")
    _unique(titles, "button titles")


def _validate_list(action: dict) -> None:
    _only_keys(action, {"button", "sections"}, "interactive.action")
    _string(action, "button", "interactive.action.", 20)
    sections = _list(action, "sections", "interactive.action.", 1, 10)
    row_ids = []
    for i, section in enumerate(sections):
        where = f"interactive.action.sections[{i}]"
        _require(isinstance(section, dict), f"{where} must be an object")
        _only_keys(section, {"title", "rows"}, where)
        if len(sections) > 1 or "title" in section:  # a title is required once there are several sections
            _string(section, "title", f"{where}.", 24)
        for j, row in enumerate(_list(section, "rows", f"{where}.", 1, 10)):
            row_where = f"{where}.rows[{j}]"
            _require(isinstance(row, dict), f"{row_where} must be an object")
            _only_keys(row, {"id", "title", "description"}, row_where)
            row_ids.append(_string(row, "id", f"{row_where}.", 200))
            _string(row, "title", f"{row_where}.", 24)
            if "description" in row:
                _string(row, "description", f"{row_where}.", 72)
    _require(len(row_ids) <= 10, f"the list holds {len(row_ids)} rows; the maximum is 10 across all sections")
    _unique(row_ids, "row ids")


def _validate_media(media: dict, where: str, caption: bool = True, extra: tuple[str, ...] = ()) -> None:
    _only_keys(media, {"id", "link", *extra, *(("caption",) if caption else ())}, where)
    _require(("id" in media) != ("link" in media), f"{where} needs exactly one of id (uploaded) or link (hosted)")
    if "link" in media:
        link = _string(media, "link", f"{where}.")
        parts = urlsplit(link)
        _require(parts.scheme in ("http", "https") and parts.netloc, f"{where}.link must be an http(s) URL")
    else:
        _string(media, "id", f"{where}.")
    if "caption" in media:
        _string(media, "caption", f"{where}.", 1024)


def _validate_template(template: dict) -> None:
    _only_keys(template, {"name", "language", "components"}, "template")
    _string(template, "name", "template.", 512)
    language = _object(template, "language", "template.")
    _only_keys(language, {"code", "policy"}, "template.language")
    _string(language, "code", "template.language.")
    _require(language.get("policy", "deterministic") == "deterministic",
             'template.language.policy must be "deterministic"')
    components = template.get("components", [])
    _require(isinstance(components, list), "template.components must be a list")
    for i, component in enumerate(components):
        _validate_component(component, f"template.components[{i}]")


def _validate_component(component, where: str) -> None:
    _require(isinstance(component, dict), f"{where} must be an object")
    kind = component.get("type")
    _require(kind in ("header", "body", "button"), f'{where}.type must be "header", "body" or "button"')
    if kind == "button":
        _only_keys(component, {"type", "sub_type", "index", "parameters"}, where)
        _string(component, "sub_type", f"{where}.")
        _require(str(component.get("index", "")).isdigit(), f"{where}.index must be the button's position")
    else:
        _only_keys(component, {"type", "parameters"}, where)
    for j, parameter in enumerate(_list(component, "parameters", f"{where}.", 1, 100)):
        param_where = f"{where}.parameters[{j}]"
        _require(isinstance(parameter, dict) and isinstance(parameter.get("type"), str),
                 f"{param_where} must be an object with a type")
        if parameter["type"] == "text":
            _only_keys(parameter, {"type", "text", "parameter_name"}, param_where)
            _string(parameter, "text", f"{param_where}.")


def _validate_image(image: dict) -> None:
    _validate_media(image, "image")


def _validate_document(document: dict) -> None:
    _validate_media(document, "document", extra=("filename",))
    if "filename" in document:
        _string(document, "filename", "document.")


VALIDATORS = {"text": _validate_text, "interactive": _validate_interactive, "image": _validate_image,
              "document": _validate_document, "template": _validate_template}


def text_of(body: dict) -> str:
    """What a person would read first in a message body we accepted."""
    kind = body.get("type", "text")
    if kind == "text":
        return body["text"]["body"]
    if kind == "interactive":
        return body["interactive"]["body"]["text"]
    if kind in ("image", "document"):
        return body[kind].get("caption", "")
    return body["template"]["name"]


# ---- the server ----

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Graph; a client's connection pool behaves as live
    timeout = 10  # idle keep-alive connections end on their own
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms a request), which would make the fake, not the bridge, the bottleneck.
    disable_nagle_algorithm = True

    def do_POST(self):
        self.server.fake._handle(self)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def log_message(self, *args):  # quiet in test output; fake.accepted/rejected say what happened
        pass


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, tuple]:
    """name -> (part content type, bytes, file name or None) of a multipart/form-data body."""
    if not content_type.startswith("multipart/form-data"):
        _fail(f"media uploads are multipart/form-data, not {content_type!r}")
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[name] = (part.get_content_type(), part.get_payload(decode=True) or b"", part.get_filename())
    return fields


class FakeGraphAPI:
    """Fake `POST /{version}/{phone_number_id}/messages` and `/media`, and the received media's
    `GET /{version}/{media-id}` and download URL, on a loopback port; see the module docstring."""

    def __init__(self, access_token: str = "test-access-token", phone_number_id: str = "123456789012345",
                 version: str = "v21.0", max_per_second: int | None = None, throttle_status: int = 429):
        self.access_token, self.phone_number_id, self.version = access_token, phone_number_id, version
        self.max_per_second, self.throttle_status = max_per_second, throttle_status
        self.accepted: list[dict] = []  # {time, path, headers, body, message_id, kind ("message"/"read")}
        self.rejected: list[tuple] = []  # (body, or raw text when not JSON; reason)
        self._lock = threading.Lock()
        self._faults: list[dict] = []  # queued fail_next() answers, first first
        self._delays: list[list] = []  # queued [seconds, remaining]
        self._closed_windows: set[str] = set()
        self._send_times: deque[float] = deque()
        self.media: dict[str, bytes] = {}  # uploaded with POST /{phone_number_id}/media, by id
        self.uploads: dict[str, dict] = {}  # and what each upload was: {type, filename, bytes}
        # Media users sent (add_received_media), by id: {data, mime_type, sha256, file_size, hash}
        self.received_media: dict[str, dict] = {}
        self.media_lookups: list[str] = []  # media ids whose URL was asked for (past any fault), in order
        self.downloads: list[str] = []  # media ids whose bytes were downloaded, in order
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval: stop() (shutdown) returns within it, keeping test teardown fast.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-graph-api", daemon=True)
        self._thread.start()

    @property
    def messages_path(self) -> str:
        return f"/{self.version}/{self.phone_number_id}/messages"

    @property
    def media_path(self) -> str:
        return f"/{self.version}/{self.phone_number_id}/media"

    @property
    def messages_url(self) -> str:
        return self.base_url + self.messages_path

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()  # wakes handlers sleeping in delay_next()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeGraphAPI:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- fault injection ----

    def fail_next(self, status: int, count: int = 1, retry_after: float | None = None, code: int | None = None,
                  details: str | None = None, on: str = "messages") -> None:
        """The next `count` POSTs to /messages answer `status` with a Graph error, whatever they hold;
        with on="media" the next media URL lookups (GET /{media-id}), with on="download" the next
        downloads of a media URL.

        The Graph code defaults from the status: 429 -> 130429, 401 -> 190, 400 -> 100, others 131000.
        """
        assert on in FAULT_TARGETS, on
        code = code or DEFAULT_CODES.get(status, 131000)
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        fault = {"status": status, "code": code, "headers": headers, "remaining": count, "on": on,
                 "details": details or ERROR_DETAILS.get(code, f"Injected failure (HTTP {status}).")}
        with self._lock:
            self._faults.append(fault)

    def delay_next(self, seconds: float, count: int = 1, on: str = "messages") -> None:
        """The next `count` POSTs to /messages (or, with `on`, media lookups or downloads, as for
        fail_next) wait `seconds` before being handled.

        The request is still handled after the wait, as a slow server would: a client that timed out
        and retries has really sent the message twice.
        """
        assert on in FAULT_TARGETS, on
        with self._lock:
            self._delays.append([seconds, count, on])

    # ---- media users sent ----

    def add_received_media(self, data: bytes, mime_type: str = "audio/ogg", *, file_size: int | str | None = None,
                           sha256: str | None = None) -> str:
        """Media a user sent (a voice note): its id, for a webhook to name. `file_size` and
        `sha256` replace what GET /{media-id} states, for a test whose Graph misstates them."""
        with self._lock:
            media_id = str(2 * 10**15 + len(self.received_media))
            self.received_media[media_id] = {
                "data": data, "mime_type": mime_type, "sha256": sha256 or hashlib.sha256(data).hexdigest(),
                "file_size": len(data) if file_size is None else file_size, "hash": secrets.token_urlsafe(24)}
        return media_id

    def downloads_of(self, media_id: str) -> int:
        return self.downloads.count(media_id)

    def close_window(self, phone: str) -> None:
        """From now on, only templates reach `phone`; other messages get 131047 (24-hour window closed)."""
        with self._lock:
            self._closed_windows.add(digits_only(phone))

    def reopen_window(self, phone: str) -> None:
        with self._lock:
            self._closed_windows.discard(digits_only(phone))

    # ---- what was received ----

    def messages(self) -> list[dict]:
        """Bodies of accepted sends (read receipts left out), in order."""
        return [r["body"] for r in list(self.accepted) if r["kind"] == "message"]

    def reads(self) -> list[dict]:
        """Bodies of accepted mark-as-read requests, in order."""
        return [r["body"] for r in list(self.accepted) if r["kind"] == "read"]

    def sent_to(self, phone: str) -> list[dict]:
        wanted = digits_only(phone)
        return [body for body in self.messages() if digits_only(body["to"]) == wanted]

    def texts_to(self, phone: str) -> list[str]:
        """text.body, interactive body.text, image caption ("" if none) or template name of each send."""
        return [text_of(body) for body in self.sent_to(phone)]

    def wait_for(self, predicate_or_count, timeout: float = 5.0, kind: str | None = None) -> list[dict]:
        """Poll until `len(accepted) >= count`, or `predicate(accepted)` is true; return accepted.

        `kind="message"` or `"read"` counts only those records. Raises AssertionError saying what
        was received when the time runs out.
        """
        deadline = time.monotonic() + timeout
        while True:
            records = [r for r in list(self.accepted) if kind is None or r["kind"] == kind]
            if callable(predicate_or_count):
                if predicate_or_count(records):
                    return records
            elif len(records) >= predicate_or_count:
                return records
            if time.monotonic() >= deadline:
                raise AssertionError(self._summary(predicate_or_count, timeout, records))
            time.sleep(0.01)

    def _summary(self, wanted, timeout: float, records: list[dict]) -> str:
        what = "predicate" if callable(wanted) else f"{wanted} accepted request(s)"
        got = [f"{r['kind']} to={r['body'].get('to')} {text_of(r['body'])[:60]!r}" if r["kind"] == "message"
               else f"read {r['body'].get('message_id')}" for r in records]
        rejected = [reason for _, reason in list(self.rejected)]
        return f"waited {timeout} s for {what}; accepted {len(records)}: {got}; rejected {len(rejected)}: {rejected}"

    # ---- request handling (server threads) ----

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if self._stopping.is_set():  # a kept-alive connection outlived stop(): behave as a dead server
            handler.close_connection = True
            return
        path = urlsplit(handler.path).path
        if handler.command == "POST" and path == self.media_path:
            self._handle_media(handler, raw)
            return
        if handler.command == "GET" and (path == DOWNLOAD_PATH or self._media_id_of(path)):
            self._handle_received_media(handler, path)
            return
        try:
            if handler.command != "POST" or path != self.messages_path:
                details = f"Unknown path or method: {handler.command} {path} (only POST {self.messages_path})"
                raise GraphError(404, 100, details, message=f"(#100) {details}")
            if not self._wait_out_delay("messages"):
                handler.close_connection = True  # stopping: answer nothing
                return
            self._take_fault("messages")
            self._check_headers(handler.headers)
            body = self._parse(raw)
            kind = validate(body)
            answer = self._accept(path, dict(handler.headers.items()), body, kind)
        except GraphError as error:
            self._record_rejection(raw, error)
            self._send(handler, error.status, error.body(), error.headers)
            return
        self._send(handler, 200, answer)

    def _handle_media(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        """Media upload (Cloud API "Upload media"): multipart/form-data with `messaging_product`,
        `type` and `file`; answers {"id"} that a message may then name instead of a link."""
        try:
            if handler.headers.get("Authorization") != f"Bearer {self.access_token}":
                raise GraphError(401, 190, "Missing or wrong bearer token.", message="Invalid OAuth access token.")
            fields = _multipart_fields(handler.headers.get("Content-Type", ""), raw)
            _require(fields.get("messaging_product", (None, b""))[1] == b"whatsapp",
                     "messaging_product must be 'whatsapp'")
            _require("file" in fields, "the upload has no 'file' part")
            content_type, data, filename = fields["file"]
            _require(content_type in MEDIA_TYPES, "Param file must be a file with one of the following types: "
                     f"{', '.join(MEDIA_TYPES)}. Received file of type '{content_type}'.")
            _require(fields.get("type", (None, b""))[1].decode() == content_type, "'type' must match the file's type")
            _require(0 < len(data) <= MEDIA_TYPES[content_type],
                     f"{content_type} files must be 1 byte to {MEDIA_TYPES[content_type]} bytes; this is {len(data)}")
        except GraphError as error:
            self._record_rejection(raw[:200], error)
            self._send(handler, error.status, error.body(), error.headers)
            return
        media_id = str(10**15 + len(self.media))
        with self._lock:
            self.media[media_id] = data
            self.uploads[media_id] = {"type": content_type, "filename": filename, "bytes": len(data)}
        self._send(handler, 200, {"id": media_id})

    def _media_id_of(self, path: str) -> str | None:
        """The id in GET /{version}/{media-id} (any single segment: Graph answers unknown ones too)."""
        prefix = f"/{self.version}/"
        rest = path[len(prefix):] if path.startswith(prefix) else ""
        return rest if rest and "/" not in rest else None

    def _handle_received_media(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        """GET /{version}/{media-id} (the media's URL and facts) or GET of that URL (the bytes)."""
        on = "download" if path == DOWNLOAD_PATH else "media"
        try:
            if not self._wait_out_delay(on):
                handler.close_connection = True
                return
            self._take_fault(on)
            if handler.headers.get("Authorization") != f"Bearer {self.access_token}":
                raise GraphError(401, 190, "Missing or wrong bearer token.", message="Invalid OAuth access token.")
            if on == "media":
                answer = self._media_url(self._media_id_of(path))
            else:
                self._download(handler, parse_qs(urlsplit(handler.path).query))
                return
        except GraphError as error:
            self._record_rejection(handler.path.encode(), error)
            self._send(handler, error.status, error.body(), error.headers)
            return
        self._send(handler, 200, answer)

    def _media_url(self, media_id: str) -> dict:
        with self._lock:
            media = self.received_media.get(media_id)
            self.media_lookups.append(media_id)
        if media is None:
            raise unknown_object(media_id)
        query = f"mid={media_id}&ext={int(time.time())}&hash={media['hash']}"
        return {"messaging_product": "whatsapp", "url": f"{self.base_url}{DOWNLOAD_PATH}?{query}",
                "mime_type": media["mime_type"], "sha256": media["sha256"], "file_size": media["file_size"],
                "id": media_id}

    def _download(self, handler: BaseHTTPRequestHandler, query: dict) -> None:
        media_id, ext, hash_ = (query.get(key, [""])[0] for key in ("mid", "ext", "hash"))
        media = self.received_media.get(media_id)
        if media is None or not secrets.compare_digest(hash_, media["hash"]) or not ext.isdigit() \
                or time.time() - int(ext) > URL_LIFETIME_S:
            raise GraphError(404, 100, "The media URL is unknown or has expired; ask GET /{media-id} again.")
        with self._lock:
            self.downloads.append(media_id)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", media["mime_type"])
            handler.send_header("Content-Length", str(len(media["data"])))
            handler.end_headers()
            handler.wfile.write(media["data"])
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (too big for it)
            handler.close_connection = True

    def _wait_out_delay(self, on: str) -> bool:
        with self._lock:
            seconds = 0.0
            delay = next((d for d in self._delays if d[2] == on), None)
            if delay is not None:
                seconds = delay[0]
                delay[1] -= 1
                if delay[1] <= 0:
                    self._delays.remove(delay)
        return not self._stopping.wait(seconds) if seconds else not self._stopping.is_set()

    def _take_fault(self, on: str) -> None:
        with self._lock:
            fault = next((f for f in self._faults if f["on"] == on), None)
            if fault is None:
                return
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                self._faults.remove(fault)
        raise GraphError(fault["status"], fault["code"], fault["details"], fault["headers"])

    def _check_headers(self, headers) -> None:
        if headers.get("Authorization") != f"Bearer {self.access_token}":
            raise GraphError(401, 190, "Missing or wrong bearer token.", message="Invalid OAuth access token.")
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        _require(content_type == "application/json", f"Content-Type must be application/json, not {content_type!r}")

    @staticmethod
    def _parse(raw: bytes) -> dict:
        try:
            body = json.loads(raw)
        except ValueError:
            _fail("the request body is not valid JSON")
        _require(isinstance(body, dict), "the request body must be a JSON object")
        return body

    def _accept(self, path: str, headers: dict, body: dict, kind: str) -> dict:
        """Apply the per-recipient and per-number rules, then record; under the lock so checks are atomic."""
        with self._lock:
            now = time.monotonic()
            message_id = None
            if kind == "message":
                self._check_window(body)
                self._check_media(body)
                self._check_throughput(now)
                self._send_times.append(now)
                message_id = new_wamid(body["to"])
            self.accepted.append({"time": now, "path": path, "headers": headers, "body": body,
                                  "message_id": message_id, "kind": kind})
        if kind == "read":
            return {"success": True}
        return {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": digits_only(body["to"])}],
                "messages": [{"id": message_id}]}

    def _check_media(self, body: dict) -> None:
        kind = body.get("type")
        media_id = (body.get(kind) or {}).get("id") if kind in ("image", "document") else None
        if media_id is not None and media_id not in self.media:
            raise GraphError(400, 131053, f"Media upload error: no uploaded media with id {media_id}")

    def _check_window(self, body: dict) -> None:
        if body.get("type", "text") != "template" and digits_only(body["to"]) in self._closed_windows:
            raise GraphError(400, 131047, ERROR_DETAILS[131047])

    def _check_throughput(self, now: float) -> None:
        if self.max_per_second is None:
            return
        while self._send_times and now - self._send_times[0] >= 1.0:
            self._send_times.popleft()
        if len(self._send_times) >= self.max_per_second:
            raise GraphError(self.throttle_status, 130429, ERROR_DETAILS[130429])

    def _record_rejection(self, raw: bytes, error: GraphError) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.rejected.append((body, f"HTTP {error.status} #{error.code}: {error.details}"))

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            handler.close_connection = True
