"""Speech's limits and its failures, on in-process model APIs (the real engines, Flask's test
client): a note over SPEECH_MAX_SECONDS, a body over SPEECH_MAX_BODY_BYTES (raised for this route
only), a full speech queue, SPEECH_TIMEOUT; and a speech model that is off, missing or altered,
while chat goes on."""
import io
import shutil
import threading
import time
from dataclasses import replace

import pytest

from model_api.app import create_app
from model_api.catalog import TEST_MODEL
from model_api.settings import SpeechSettings, load_settings
from tests.model_api.speech_samples import spoken_for
from tests.speech.voices import encode, espeak_available, padded, silence, speak_wav

pytestmark = pytest.mark.skipif(not espeak_available(), reason="espeak-ng makes the voice notes (apt install espeak-ng)")

PATH = "/v1/audio/transcriptions"
CHAT = {"messages": [{"role": "user", "content": "hola"}], "max_tokens": 1}


@pytest.fixture(scope="module")
def base_settings(test_model_path, whisper_base_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHASQUI_MODEL", TEST_MODEL)
        patch.setenv("SPEECH_MODEL", "whisper-base")
        for name in ("SPEECH_MODEL_PATH", "SPEECH_THREADS", "SPEECH_LANGUAGE"):
            patch.delenv(name, raising=False)
        yield load_settings().with_overrides(n_ctx=512, n_threads=1, warm_up=False, token="")


def start(settings, **speech):
    app = create_app(settings.with_overrides(speech=replace(settings.speech, **speech)))
    model, voice = app.extensions["chasqui_model_service"], app.extensions["chasqui_speech_service"]
    deadline = time.monotonic() + 60
    while "loading" in (model.state, voice.state):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert model.state == "ready", model.error
    return app


def stop(app) -> None:
    app.extensions["chasqui_model_service"].queue.stop(wait_s=10)
    app.extensions["chasqui_speech_service"].queue.stop(wait_s=10)


def upload(app, data: bytes, **fields):
    return app.test_client().post(PATH, data={"file": (io.BytesIO(data), "nota.ogg"), "model": "whisper-1", **fields},
                                  content_type="multipart/form-data")


@pytest.fixture(scope="module")
def limited(base_settings):
    app = start(base_settings, max_seconds=5, max_body_bytes=3_000_000)
    yield app
    stop(app)


def test_a_note_over_the_limit_is_413(limited):
    response = upload(limited, encode(padded(speak_wav("tengo maíz en Huaral"), 8), "ogg"))
    assert response.status_code == 413, response.get_data()
    error = response.json["error"]
    assert error["code"] == "audio_too_long" and "5 seconds" in error["message"]
    assert upload(limited, silence(4)).status_code == 200  # under the limit: served


def test_the_body_limit_is_raised_for_this_route_only(limited):
    two_mb = b"\x00" * 2_000_000
    assert upload(limited, two_mb).status_code == 415  # read in full (past the JSON routes' 1 MB), then refused as not audio
    chat = limited.test_client().post("/v1/chat/completions", data=b" " * 2_000_000, content_type="application/json")
    assert chat.status_code == 413 and "MODEL_API_MAX_BODY_BYTES" in chat.json["error"]["message"]
    too_big = upload(limited, b"\x00" * 3_100_000)
    assert too_big.status_code == 413 and too_big.json["error"]["code"] == "body_too_large"
    assert "SPEECH_MAX_BODY_BYTES" in too_big.json["error"]["message"]
    assert upload(limited, silence(1)).status_code == 200


def test_full_queue_is_503_and_time_limit_504(base_settings):
    app = start(base_settings, queue_size=1, timeout_s=0.5)
    speech = app.extensions["chasqui_speech_service"]
    long_note, _ = spoken_for(30)
    answers = {}
    try:
        def send(name):
            answers[name] = upload(app, long_note)

        def wait_for_depth(depth):
            deadline = time.monotonic() + 10
            while speech.queue.depth() != depth:
                assert time.monotonic() < deadline, f"speech queue never reached {depth}"
                time.sleep(0.005)

        first = threading.Thread(target=send, args=("first",))
        first.start()
        wait_for_depth(1)  # being transcribed (the first 30-s window alone takes longer than 0.5 s)
        second = threading.Thread(target=send, args=("second",))
        second.start()
        wait_for_depth(2)  # waiting: the queue (size 1) is full
        refused = upload(app, long_note)
        assert refused.status_code == 503 and refused.json["error"]["code"] == "queue_full"
        assert int(refused.headers["Retry-After"]) >= 1
        first.join(30)
        second.join(30)
        assert [answers[n].status_code for n in ("first", "second")] == [504, 504]
        assert answers["first"].json["error"]["code"] == "timeout"
        assert "SPEECH_TIMEOUT" in answers["first"].json["error"]["message"]
        wait_for_depth(0)
        assert upload(app, silence(1)).status_code == 200  # the worker is free again
    finally:
        stop(app)


def unavailable(app) -> dict:
    chat = app.test_client().post("/v1/chat/completions", json=CHAT)
    assert chat.status_code == 200, chat.get_data()  # chat is served whatever speech's state
    health = app.test_client().get("/health")
    assert health.status_code == 200 and health.json["ready"] is True
    response = upload(app, silence(1))
    assert response.status_code == 503 and response.json["error"]["code"] == "speech_unavailable"
    return {"message": response.json["error"]["message"], **health.json["speech"]}


def test_speech_off(base_settings):
    app = start(base_settings.with_overrides(speech=SpeechSettings()))
    try:
        speech = unavailable(app)
        assert speech["status"] == "disabled" and "SPEECH_MODEL=none" in speech["message"]
    finally:
        stop(app)


def test_speech_model_not_installed(base_settings, tmp_path):
    app = start(base_settings, model_dir=tmp_path / "whisper-base")
    try:
        speech = unavailable(app)
        assert speech["status"] == "missing"
        assert speech["message"] == f"speech to text is unavailable: {speech['error']}"
        assert "chasqui model install whisper-base" in speech["error"]
    finally:
        stop(app)


def test_altered_speech_model_is_refused(base_settings, whisper_base_dir, tmp_path):
    copy = tmp_path / "whisper-base"
    shutil.copytree(whisper_base_dir, copy)
    with (copy / "model.bin").open("r+b") as weights:  # one byte in the middle of the weights
        weights.seek(70_000_000)
        byte = weights.read(1)
        weights.seek(-1, 1)
        weights.write(bytes([byte[0] ^ 0xFF]))
    app = start(base_settings, model_dir=copy)
    try:
        speech = unavailable(app)
        assert speech["status"] == "failed" and "is corrupt: sha256" in speech["error"]
        assert "chasqui model install whisper-base" in speech["error"]
    finally:
        stop(app)
