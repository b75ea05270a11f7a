"""End-to-end time of a spoken question, webhook to reply: a signed Cloud API webhook with an
audio message -> the bridge fetches the note from the local fake Graph API (GET /{media-id},
then the download URL) -> POST /agent/voice on the backend -> the model API's Whisper hears it
-> the backend answers from code (the producer's water balance) -> the reply accepted by the
fake Graph API. Real processes for the model API and the backend, the bridge in this process,
all on loopback; the question is spoken by espeak-ng (tests/speech/voices.py).

    .venv/bin/python bench/voice_end_to_end.py [--notes 5] [--model qwen2.5-coder-0.5b-instruct-q4_k_m]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.whatsapp_bridge import TOKEN, cloud_settings, percentile, start_bridge  # noqa: E402
from model_api.catalog import DEFAULT_MODEL  # noqa: E402
from tests.agro.conftest import lima_today  # noqa: E402
from tests.agro.fake_open_meteo import FakeOpenMeteo  # noqa: E402
from tests.servers import start_backend, start_model_api, wait_for_speech  # noqa: E402
from tests.speech.voices import voice_note  # noqa: E402
from tests.whatsapp_bridge import webhook_payloads as meta  # noqa: E402
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI, text_of  # noqa: E402
from whatsapp_bridge.settings import load_settings  # noqa: E402
from whatsapp_bridge.transports.cloud import CloudTransport  # noqa: E402

PHONE = "+51955500001"
ONBOARDING = ["Hola", "papa en Huancayo, sembré hace 2 meses, suelo franco, riego por goteo 4 mm/h"]
QUESTION = "cuándo riego mi papa"


def post(bridge_url: str, payload: dict, secret: str) -> None:
    raw, headers = meta.signed_post_args(payload, secret)
    requests.post(f"{bridge_url}/webhook", data=raw, headers=headers, timeout=10).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=5)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    note = voice_note(QUESTION)
    with tempfile.TemporaryDirectory() as scratch, FakeGraphAPI() as graph:
        directory = Path(scratch)
        weather = FakeOpenMeteo()
        weather.align_to = lima_today()
        model = start_model_api(directory, args.model)
        wait_for_speech(model.url)
        backend = start_backend(directory, model.url, BACKEND_TOKEN=TOKEN, BACKEND_PLUGINS="agro",
                                AGRO_OPEN_METEO_URL=weather.url, AGRO_GEOCODING_URL=weather.url,
                                CHASQUI_LOG_LEVEL="WARNING")
        settings = {**cloud_settings(graph), "holding_after_s": 30.0}
        bridge, server, url = start_bridge(directory, backend.url, CloudTransport(
            load_settings().with_overrides(**settings)), **settings)
        try:
            sent = 0
            for text in ONBOARDING:
                post(url, meta.text_message(PHONE.lstrip("+"), text), settings["whatsapp_app_secret"])
                sent += 1
                graph.wait_for(sent, kind="message", timeout=120)
            times, replies = [], []
            for index in range(args.notes + 1):  # the first one warms the engines up; not counted
                media_id = graph.add_received_media(note, "audio/ogg")
                started = time.monotonic()
                post(url, meta.audio(PHONE.lstrip("+"), media_id=media_id), settings["whatsapp_app_secret"])
                sent += 1
                reply = graph.wait_for(sent, kind="message", timeout=180)[-1]
                if index:
                    times.append(reply["time"] - started)
                    replies.append(text_of(reply["body"]))
            print(f"spoken question «{QUESTION}» ({len(note) / 1024:.0f} KB OGG/Opus), webhook -> reply accepted, "
                  f"{len(times)} notes: median {statistics.median(times):.2f} s, p95 {percentile(times, .95):.2f} s, "
                  f"max {max(times):.2f} s (model API {args.model}, Whisper as configured by SPEECH_*)")
            print(f"last reply: {replies[-1]!r}")
        finally:
            bridge.stop()
            server.shutdown()
            backend.stop()
            model.stop()
            weather.stop()


if __name__ == "__main__":
    main()
