"""A scripted model server for orchestration tests: a real HTTP server on loopback that speaks the
model API's /chat contract and answers from a script (a list of responses, used in order), and
records what it was asked. The end-to-end tests use the real model API instead."""
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
        self.delay_s = 0.0  # how long each answer takes (a slow model)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def answer_by_default(self, respuesta: str) -> "ScriptedModel":
        """Every request the script does not cover gets this reply, with no actions."""
        output = {"role": "consulta", "respuesta_chat": respuesta, "acciones": {}, "estado": {}}
        self.default = (200, {"content": json.dumps(output, ensure_ascii=False)}, {})
        return self

    def answer(self, respuesta: str, acciones: dict | None = None, estado: dict | None = None) -> None:
        output = {"role": "consulta", "respuesta_chat": respuesta, "acciones": acciones or {}, "estado": estado or {}}
        self.script.append((200, {"content": json.dumps(output, ensure_ascii=False)}, {}))

    def fail(self, status: int, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after else {}
        self.script.append((status, {"error": {"code": "busy", "message": "scripted"}}, headers))

    def last_context(self) -> dict:
        """The context of the latest /chat request, as a dict."""
        context = self.requests[-1]["context"]
        return context if isinstance(context, dict) else json.loads(context)

    def stop(self) -> None:
        self._server.shutdown()

    def _handler(self):
        model = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append(body)
                time.sleep(model.delay_s)
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
