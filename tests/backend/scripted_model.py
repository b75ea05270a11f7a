"""A scripted model server for orchestration tests: a real HTTP server on loopback that speaks the
model API's /chat contract and answers from a script (a list of responses, used in order), and
records what it was asked. Classification calls (a schema whose only property is "intencion")
have a script of their own, so a test scripts the answer call and the classification separately.
The end-to-end tests use the real model API instead."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedModel:
    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, dict]] = []  # (status, body, headers)
        self.default = (200, None, {})
        self.classify_requests: list[dict] = []
        self.classifications: list[str] = []  # intents the classification calls answer, in order
        self.delay_s = 0.0  # how long each answer takes (a slow model)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def answer_by_default(self, respuesta: str) -> "ScriptedModel":
        """Every answer call the script does not cover gets this reply."""
        self.default = (200, {"content": json.dumps({"respuesta_chat": respuesta}, ensure_ascii=False)}, {})
        return self

    def answer(self, respuesta: str) -> None:
        """The next answer call's reply."""
        self.script.append((200, {"content": json.dumps({"respuesta_chat": respuesta}, ensure_ascii=False)}, {}))

    def answer_raw(self, output: dict) -> None:
        self.script.append((200, {"content": json.dumps(output, ensure_ascii=False)}, {}))

    def classify_as(self, intent: str) -> None:
        """The next classification call picks this intent (when it is among the options)."""
        self.classifications.append(intent)

    def fail(self, status: int, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.script.append((status, {"error": {"code": "busy", "message": "scripted"}}, headers))

    def cut_off(self) -> None:
        """The next answer call is one the model API refuses as written past max_tokens."""
        self.script.append((422, {"error": {"code": "output_truncated", "message": "the answer did not fit in "
                                            "max_tokens=120; raise it"}}, {}))

    def last_context(self) -> dict:
        """The context of the latest /chat request, as a dict."""
        context = self.requests[-1]["context"]
        return context if isinstance(context, dict) else json.loads(context)

    def last_context_text(self) -> str:
        """The context of the latest /chat answer request, as the text the model read."""
        context = self.requests[-1]["context"]
        return context if isinstance(context, str) else json.dumps(context, ensure_ascii=False)

    def stop(self) -> None:
        self._server.shutdown()

    def _handler(self):
        model = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(model.delay_s)
                options = (body.get("schema") or {}).get("properties", {}).get("intencion", {}).get("enum")
                if options:
                    model.classify_requests.append(body)
                    wanted = model.classifications.pop(0) if model.classifications else "pregunta_abierta"
                    chosen = wanted if wanted in options else options[-1]
                    status, payload, headers = 200, {"content": json.dumps({"intencion": chosen})}, {}
                else:
                    model.requests.append(body)
                    status, payload, headers = model.script.pop(0) if model.script else model.default
                if payload is None:
                    payload = {"error": {"code": "unscripted", "message": "no scripted answer left"}}
                    status = 500
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # /health
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        return Handler
