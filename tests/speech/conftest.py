"""A real model API process (the tiny GGUF for chat, Whisper base for speech), shared by the
module's tests, and the Spanish sentences they speak."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.servers import RunningService, start_model_api
from tests.speech.voices import espeak_available

SENTENCES = json.loads((Path(__file__).parent / "data" / "sentences.json").read_text(encoding="utf-8"))["sentences"]


def wait_for_speech(service: RunningService, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        speech = requests.get(f"{service.url}/health", timeout=5).json().get("speech", {})
        if speech.get("status") == "ready":
            return
        if speech.get("status") in ("failed", "missing", "disabled"):
            raise RuntimeError(f"the model API has no speech engine: {speech}")
        time.sleep(0.2)
    raise TimeoutError("the speech engine did not load")


@pytest.fixture(scope="module")
def speech_api(tmp_path_factory):
    if not espeak_available():
        pytest.fail("espeak-ng is missing: ./dev test installs it (apt-get install espeak-ng)")
    service = start_model_api(tmp_path_factory.mktemp("speech"), "smollm2-135m-instruct-q4_1")
    try:
        wait_for_speech(service)
        yield service
    finally:
        service.stop()
