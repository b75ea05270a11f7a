"""The bridge under test: its Flask app in this process, for the cloud transport (the signed
webhook) and for the simulator, each with its real inbox file and real relay, talking over HTTP to
a real backend (a BackendWorld served on a loopback port).

Three things differ from production, so that each example's effects are complete when its checks
run and stay on this machine: the relay's worker pool and the delivery-status pool run each task
at once, inside the request; what the bridge sends is recorded instead of going to Meta, and a
voice note's audio "fetched" from Meta is a fixed one (the media flow has its own tests,
tests/whatsapp_bridge/test_cloud_media.py); and the backend's speech engine is a stand-in that
hears «hola» in any audio. The webhook's and the simulator's own code runs unchanged."""
from __future__ import annotations

import itertools
import secrets
from concurrent.futures import Future
from pathlib import Path

from tests.backend.conftest import TOKEN
from tests.robustness.worlds import BackendWorld
from whatsapp_bridge.app import create_app
from whatsapp_bridge.media import AudioFile, MediaUnavailable
from whatsapp_bridge.messages import Outbound
from whatsapp_bridge.relay import BACKEND_DOWN_REPLY, HOLDING_REPLY, REFUSED_REPLY
from whatsapp_bridge.settings import load_settings
from whatsapp_bridge.transports.cloud import CloudTransport
from whatsapp_bridge.transports.simulator import SimulatorTransport

APP_SECRET = "robustness-app-secret"
VERIFY_TOKEN = "robustness-verify-token"
NOT_NORMAL = {REFUSED_REPLY, BACKEND_DOWN_REPLY, HOLDING_REPLY}
VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 8  # never decoded: the speech stand-in hears «hola» in anything


class Inline:
    """An executor that runs each task as it is submitted."""

    def submit(self, function, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as problem:  # kept in the future, as a pool would
            future.set_exception(problem)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class RecordingCloud(CloudTransport):
    """The cloud transport with its webhook as it is; sends are recorded, not posted to Meta."""

    def __init__(self, settings):
        super().__init__(settings)
        self.sent: list[Outbound] = []
        self._ids = itertools.count(1)

    def send(self, message: Outbound) -> str:
        self.sent.append(message)
        return f"wamid.out.{next(self._ids)}"

    def show_typing(self, phone: str, inbound_message_id: str | None) -> None:
        pass

    def fetch_audio(self, inbound_message_id: str, media: dict) -> AudioFile:
        if not media.get("media_id"):  # as the real fetch refuses it, before any request
            raise MediaUnavailable("the webhook named no media id", retryable=False)
        return AudioFile(VOICE_NOTE, "audio/ogg; codecs=opus")


class QuickSimulator(SimulatorTransport):
    """GET /simulator/api/messages?wait=N waits up to 25 s for news: the route's reading of
    `after` and `wait` is under test, the waiting is not, so it is cut to 10 ms (the waits asked
    are kept)."""

    def __init__(self, max_audio_bytes: int):
        super().__init__(max_audio_bytes)
        self.waits: list[float] = []

    def _read(self, phone: str, after: int, wait_s: float) -> dict:
        self.waits.append(wait_s)
        return super()._read(phone, after, min(wait_s, 0.01))


class BridgeApp:
    """One bridge app (one transport) with its inbox, relay and what it sent."""

    def __init__(self, tmp_path: Path, transport, backend_url: str, **overrides):
        settings = load_settings().with_overrides(**{
            "backend_url": backend_url, "backend_token": TOKEN, "state_path": tmp_path / "bridge.db",
            "holding_after_s": 0.0, "backend_timeout_s": 10.0, "retry_every_s": 3600.0, **overrides})
        self.transport = transport
        self.app = create_app(settings, transport, start=False)
        self.bridge = self.app.extensions["chasqui_bridge"]
        self.bridge.relay._pool = Inline()
        self.bridge._status_reports = Inline()
        transport.start(self.bridge.relay.receive, self.bridge._on_status)  # no retry loop, no alert thread
        self.client = self.app.test_client()
        self.inbox = self.bridge.inbox.connection

    def stop(self) -> None:
        """What start() began (the alert sender never ran)."""
        self.bridge.relay.stop()
        self.transport.stop()
        self.inbox.close()

    def inbox_ids(self) -> int:
        return self.inbox.execute("SELECT COALESCE(MAX(id), 0) FROM inbox").fetchone()[0]

    def rows_after(self, last_id: int) -> list[tuple]:
        return self.inbox.execute("SELECT id, phone, kind, status, last_error FROM inbox WHERE id > ?",
                                  (last_id,)).fetchall()

    def replies_to(self, phone: str) -> list[str]:
        """What the bridge sent this phone, oldest first."""
        if isinstance(self.transport, RecordingCloud):
            return [m.text for m in self.transport.sent if m.phone == phone]
        return [m["text"] for m in self.transport.conversation(phone) if m["from"] == "chasqui"]


def cloud_settings() -> dict:
    return {"whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN,
            "whatsapp_access_token": "robustness-access-token", "whatsapp_phone_number_id": "123456789012345",
            "graph_api_url": "http://127.0.0.1:9"}


def make_bridges(tmp_path: Path, backend_url: str) -> tuple[BridgeApp, BridgeApp]:
    cloud = cloud_settings()
    cloud_bridge = BridgeApp(tmp_path / "cloud", RecordingCloud(load_settings().with_overrides(**cloud)),
                             backend_url, **cloud)
    # a voice note's limit of 64 KB, so that notes over it are cheap to send (WhatsApp's is 16 MB)
    simulator = BridgeApp(tmp_path / "simulator", QuickSimulator(max_audio_bytes=64 * 1024), backend_url)
    return cloud_bridge, simulator


class BackendCalls:
    """Every answer the served backend gave (a WSGI wrapper: the app has long been serving, too
    late for Flask's own hooks): none may be a 5xx."""

    def __init__(self, world: BackendWorld):
        self.statuses: list[tuple[str, int]] = []
        inner = world.app.wsgi_app

        def remembering(environ, start_response):
            def start(status, headers, *rest):
                self.statuses.append((environ.get("PATH_INFO", ""), int(status.split()[0])))
                return start_response(status, headers, *rest)
            return inner(environ, start)

        world.app.wsgi_app = remembering

    def server_errors_since(self, start: int) -> list[tuple[str, int]]:
        return [(path, status) for path, status in self.statuses[start:] if status >= 500]


def multipart(fields: dict[str, str], file: tuple[str, str, bytes] | None) -> tuple[bytes, str]:
    """(body, Content-Type) of a multipart/form-data request, written by hand so that a field can
    hold what a broken client sends (a lone surrogate goes out as its UTF-8-ish bytes)."""
    boundary = "chasqui" + secrets.token_hex(8)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode("utf-8", "surrogatepass") + b"\r\n")
    if file is not None:
        filename, content_type, data = file
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n")
        parts.append(head.encode("utf-8", "surrogatepass") + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
