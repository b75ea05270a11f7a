"""A loopback stand-in for both Open-Meteo hosts (real HTTP on 127.0.0.1) that serves the
recorded answers in tests/agro/data/open_meteo/ and, on demand, failures: 5xx, a stall past the
client's timeout, a truncated body, the documented 400 error object. The real Open-Meteo is
never called. `align_to` moves the recorded days so that they end `forecast_days` after a given
day, for tests of advice "today"."""
from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).parent / "data" / "open_meteo"
FORECASTS = {"-7.16": "forecast_cajamarca.json", "-11.50": "forecast_huaral.json"}
PLACES = {"cajamarca": "geocoding_cajamarca.json", "huaral": "geocoding_huaral.json"}


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeOpenMeteo:
    """Answers /v1/forecast (by the latitude asked) and /v1/search (by name) from the recordings.
    `script` lists what the next requests get ("500", "slow", "malformed", "error400"), then
    "ok"; `forecast_body` replaces the recorded forecast; `requests` is what was asked."""

    def __init__(self):
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.script: list[str] = []
        self.forecast_body: dict | None = None
        self.align_to: date | None = None
        self.release = threading.Event()  # ends stalled answers at teardown
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._stopped = False

    def count(self, path: str) -> int:
        return sum(1 for asked, _ in self.requests if asked == path)

    def stop(self) -> None:
        """Afterwards the port refuses connections: the service is down."""
        if not self._stopped:
            self._stopped = True
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        self.requests.append((path, query))
        mode = self.script.pop(0) if self.script else "ok"
        if mode == "500":
            return 500, b"Internal Server Error"
        if mode == "slow":
            self.release.wait(timeout=3)
        if mode == "malformed":
            return 200, b'{"latitude": -7.1875, "daily": {"time": ["2025-03-10", '
        if mode == "error400":
            return 400, (DATA / "forecast_error_400.json").read_bytes()
        return self._recorded(path, query)

    def _recorded(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        if path == "/v1/forecast":
            if self.forecast_body is not None:
                return 200, json.dumps(self.forecast_body).encode()
            name = FORECASTS.get(query.get("latitude", ""))
            if name is None:
                return 400, json.dumps({"error": True, "reason": "no recording for this place"}).encode()
            if self.align_to is not None:
                return 200, json.dumps(self._aligned(recorded(name), int(query.get("forecast_days", 7)))).encode()
            return 200, (DATA / name).read_bytes()
        if path == "/v1/search":
            name = PLACES.get(query.get("name", "").lower(), "geocoding_not_found.json")
            return 200, (DATA / name).read_bytes()
        return 404, b"Not Found"

    def _aligned(self, body: dict, forecast_days: int) -> dict:
        days = len(body["daily"]["time"])
        first = self.align_to + timedelta(days=forecast_days - days)
        body["daily"]["time"] = [(first + timedelta(days=n)).isoformat() for n in range(days)]
        return body

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                status, body = fake.answer(url.path, query)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        return Handler
