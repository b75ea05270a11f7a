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
from whatsapp_bridge.app import create_app
from whatsapp_bridge.settings import load_settings
from whatsapp_bridge.transports.simulator import SimulatorTransport

TOKEN = "bridge-test-token"
ONBOARDING = ["Hola", "Rosa", "Cajamarca"]  # the example plug-in's onboarding: name, then city


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


def onboard(bridge: RunningBridge, phone: str) -> None:
    for index, text in enumerate(ONBOARDING, start=1):
        say(bridge, phone, text)
        wait_for_replies(bridge.transport, phone, index)
