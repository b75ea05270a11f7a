"""Stand-ins for voice notes' other ends. VoiceBackend is the backend's POST /agent/voice, for the
bridge's tests that are about the bridge (what it sends, when it keeps a note, what it says on a
refusal): it reads the multipart strictly as the contract has it (phone, message_id, name, role,
the file part `file`), records each call, and answers in turn the statuses it was given (the last
one from then on), 200 being the contract's answer: /agent's JSON plus "transcript".
SpeechStandIn is the speech engine the real backend calls, for tests that need the real backend
but no real transcription.

The real backend with the real speech engine: test_voice_end_to_end.py."""
from __future__ import annotations

import json
import threading
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIELDS = {"phone", "message_id", "name", "role", "file", "channel"}  # channel: the bridge's business number


def heard_reply(transcript: str) -> str:
    return f'🎙️ Entendí: "{transcript}"\n\nRiega mañana temprano.'


class _JsonServer:
    """A loopback HTTP server whose `answer(method, path, headers, body)` gives (status, JSON), or
    (status, bytes) for a file; on `port` when given (a backend that comes back where it was)."""

    def __init__(self, port: int = 0):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._send(*server.answer("GET", self.path, self.headers, b""))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(*server.answer("POST", self.path, self.headers, raw))

            def _send(self, status: int, body: dict | bytes) -> None:
                is_file = isinstance(body, bytes)
                data = body if is_file else json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream" if is_file else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        raise NotImplementedError

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class VoiceBackend(_JsonServer):
    def __init__(self, transcript: str = "ayer regué tres horas", statuses: list[int] | None = None,
                 delay_s: float = 0.0):
        self.transcript = transcript
        self.statuses = statuses or [200]
        self.delay_s = delay_s  # how long hearing and answering a note takes
        self.calls: list[dict] = []  # {fields: {name: text}, file: {filename, content_type, data}}
        self.problems: list[str] = []  # what broke the contract
        super().__init__()

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        if method == "GET":  # /health, and the alert queue (always empty)
            return 200, {"alerts": []} if path.startswith("/alerts/") else {"status": "ok"}
        if path != "/agent/voice":
            return 404, {"error": {"code": "not_found", "message": f"the stand-in serves /agent/voice, not {path}"}}
        call = _read_multipart(headers.get("Content-Type", ""), raw, headers.get("Authorization"))
        time.sleep(self.delay_s)
        self.calls.append(call)
        self.problems += call.pop("problems")
        status = self.statuses[min(len(self.calls), len(self.statuses)) - 1]
        if status != 200:
            code = {413: "audio_too_large", 503: "speech_unavailable"}.get(status, "refused")
            return status, {"error": {"code": code, "message": f"stand-in answer {status}"}}
        return 200, {"model_output": {"role": "consulta", "respuesta_chat": heard_reply(self.transcript),
                                      "acciones": {}, "estado": {}},
                     "source": "model", "transcript": self.transcript}


class SpeechStandIn(_JsonServer):
    """POST /v1/audio/transcriptions (OpenAI's shape, as the model API serves it) hearing `text`
    in any audio; the real backend is pointed at it with SPEECH_API_URL."""

    def __init__(self, text: str = "hola"):
        self.text, self.calls = text, 0
        super().__init__()

    def answer(self, method: str, path: str, headers, raw: bytes) -> tuple[int, dict]:
        self.calls += 1
        return 200, {"text": self.text, "language": "es", "duration": 1.5}


def _read_multipart(content_type: str, raw: bytes, authorization: str | None) -> dict:
    problems = []
    if not content_type.startswith("multipart/form-data"):
        problems.append(f"not multipart/form-data: {content_type!r}")
    if not (authorization or "").startswith("Bearer "):
        problems.append("no bearer token")
    # compat32 (the default policy) keeps each part's headers as sent
    message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields, upload = {}, None
    for part in message.get_payload() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if name == "file":
            upload = {"filename": part.get_filename(), "content_type": part.get("Content-Type", ""),
                      "data": part.get_payload(decode=True) or b""}
        elif name:
            fields[name] = (part.get_payload(decode=True) or b"").decode()
    unknown = set(fields) - FIELDS
    if unknown:
        problems.append(f"fields outside the contract: {sorted(unknown)}")
    if not fields.get("phone", "").startswith("+") or not fields.get("message_id") or upload is None:
        problems.append(f"phone, message_id and file are required: {fields} {upload and upload['filename']}")
    return {"fields": fields, "file": upload, "problems": problems}
