"""A real model API process (the tiny GGUF for chat, Whisper base for speech), shared by the
module's tests, and the Spanish sentences they speak."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.servers import start_model_api, wait_for_speech
from tests.speech.voices import espeak_available

SENTENCES = json.loads((Path(__file__).parent / "data" / "sentences.json").read_text(encoding="utf-8"))["sentences"]


@pytest.fixture(scope="module")
def speech_api(tmp_path_factory):
    if not espeak_available():
        pytest.fail("espeak-ng is missing: ./dev test installs it (apt-get install espeak-ng)")
    service = start_model_api(tmp_path_factory.mktemp("speech"), "smollm2-135m-instruct-q4_1")
    try:
        wait_for_speech(service.url)
        yield service
    finally:
        service.stop()
