"""The bridge under test runs in this process (served on a loopback port) against a real backend
subprocess whose model is the scripted loopback server; tests/whatsapp_bridge/test_end_to_end.py
uses the real model API instead."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from chasqui.serve import start_server
from tests.backend.scripted_model import ScriptedModel
from tests.servers import start_backend
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI
from whatsapp_bridge.app import create_app
from whatsapp_bridge.settings import load_settings
from whatsapp_bridge.transports.cloud import CloudTransport
from whatsapp_bridge.transports.simulator import SimulatorTransport

TOKEN = "bridge-test-token"
ONBOARDING = ["Hola", "Rosa", "Cajamarca"]  # the example plug-in's onboarding: name, then city
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"


@pytest.fixture
def model():
    scripted = ScriptedModel()
    scripted.default = (200, {"content": '{"role": "consulta", "respuesta_chat": "Respuesta del modelo.", '
                                         '"acciones": {}, "estado": {}}'}, {})
    yield scripted
    scripted.stop()


def backend_with_lease(tmp_path, model, lease_s: float):
    """The real backend subprocess, its alert leases `lease_s` long; stopped when the test ends."""
    service = start_backend(tmp_path, model.url, BACKEND_TOKEN=TOKEN, ALERT_LEASE_SECONDS=f"{lease_s:g}",
                            CHASQUI_LOG_LEVEL="WARNING")
    yield service
    service.stop()


@pytest.fixture
def backend(tmp_path, model):
    yield from backend_with_lease(tmp_path, model, 2)  # short, so a dead bridge's claim returns quickly


class RunningBridge:
    def __init__(self, tmp_path: Path, transport, backend_url: str, **overrides):
        settings = load_settings().with_overrides(**{
            "transport": transport.name,  # as `chasqui bridge` would be set for it
            "backend_url": backend_url, "backend_token": TOKEN, "state_path": tmp_path / "bridge.db",
            "retry_every_s": 0.2, "holding_after_s": 0.0, "alert_poll_s": 0.5, "alert_long_poll_s": 5.0,
            "backend_timeout_s": 10.0, **overrides})
        self.transport = transport
        self.app = create_app(settings, transport)
        self.bridge = self.app.extensions["chasqui_bridge"]
        self.server, _ = start_server(self.app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.bridge.stop()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_bridge(tmp_path):
    running = []

    def make(transport=None, backend_url: str = "http://127.0.0.1:9", **overrides) -> RunningBridge:
        bridge = RunningBridge(tmp_path, transport or SimulatorTransport(), backend_url, **overrides)
        running.append(bridge)
        return bridge

    yield make
    for bridge in running:
        bridge.stop()


def say(bridge: RunningBridge, phone: str, text: str) -> None:
    response = requests.post(f"{bridge.url}/simulator/api/messages", json={"phone": phone, "text": text}, timeout=5)
    assert response.status_code == 202, response.text


def wait_for_replies(transport: SimulatorTransport, phone: str, count: int, kind: str = "reply",
                     timeout_s: float = 15) -> list[str]:
    """The texts of the first `count` messages of this kind the bridge sent to the phone."""
    deadline = time.monotonic() + timeout_s
    while True:
        texts = [m["text"] for m in transport.conversation(phone) if m["from"] == "chasqui" and m["kind"] == kind]
        if len(texts) >= count or time.monotonic() > deadline:
            assert len(texts) >= count, f"expected {count} {kind} messages, got {transport.conversation(phone)}"
            return texts
        time.sleep(0.05)


def wait_for_counts(bridge: RunningBridge, expected: dict, timeout_s: float = 10) -> None:
    """The inbox's counts, once they are `expected` (a row is marked answered just after its last
    piece was sent, so a test that saw the reply may look a moment too early)."""
    deadline = time.monotonic() + timeout_s
    while (counts := bridge.bridge.inbox.counts()) != expected:
        assert time.monotonic() < deadline, f"inbox counts {counts}, expected {expected}"
        time.sleep(0.05)


def onboard(bridge: RunningBridge, phone: str) -> None:
    for index, text in enumerate(ONBOARDING, start=1):
        say(bridge, phone, text)
        wait_for_replies(bridge.transport, phone, index)


# -- the cloud transport against the fake Graph API ------------------------------------------------------
@pytest.fixture
def graph():
    with FakeGraphAPI() as fake:
        yield fake


@pytest.fixture
def cloud_settings(graph):
    return dict(graph_api_url=graph.base_url, graph_api_version=graph.version,
                whatsapp_access_token=graph.access_token, whatsapp_phone_number_id=graph.phone_number_id,
                whatsapp_app_secret=APP_SECRET, whatsapp_verify_token=VERIFY_TOKEN, sends_per_second=200.0)


def cloud_transport(settings: dict) -> CloudTransport:
    return CloudTransport(load_settings().with_overrides(**settings))


def post_webhook(bridge, payload: dict, secret: str = APP_SECRET, headers: dict | None = None):
    raw, signed = meta.signed_post_args(payload, secret)
    return requests.post(f"{bridge.url}/webhook", data=raw, headers=headers if headers is not None else signed,
                         timeout=5)
