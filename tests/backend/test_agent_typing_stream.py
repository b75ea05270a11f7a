"""POST /agent and /agent/voice answering in NDJSON for a bridge that asks: a "typing" line when
the model's first token arrives (a real GGUF streamed from the model API's /v1), then the reply;
every turn that needs no streamed token keeps the plain JSON answer and its status."""
import io
import json

import pytest

from backend.agent.orchestrator import Orchestrator
from backend.app import create_app
from tests.backend.conftest import AUTH, Backend, backend_settings
from tests.servers import served_in_thread
from tests.speech import conftest as speech
from tests.speech import voices
from whatsapp_bridge.backend_client import BackendClient, BackendUnavailable

PHONE = "51955501234"
speech_api = speech.speech_api  # the model API of the module, its speech engine ready
STREAM = {**AUTH, "Accept": "application/x-ndjson, application/json"}
OPEN_QUESTION = "¿Qué opinas de Cajamarca?"


@pytest.fixture
def streaming_backend(tmp_path, small_api):
    backend = Backend(create_app(backend_settings(tmp_path, f"{small_api.url}/v1", model_timeout_s=60.0)))
    backend.onboard(PHONE)
    return backend


def lines(response) -> list[dict]:
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines() if line.strip()]


def test_an_open_question_streams_typing_at_the_first_token_then_the_reply(streaming_backend):
    response = streaming_backend.client.post("/agent", json={"phone": PHONE, "message": OPEN_QUESTION}, headers=STREAM)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    events = lines(response)
    assert [e["event"] for e in events] == ["typing", "reply"]
    reply = events[-1]
    assert reply["timings"]["generate_ms"] > 0 and reply["model_output"]["respuesta_chat"]
    plain = streaming_backend.say(PHONE, "¿Qué opinas de la sierra?")  # without the header: JSON as ever
    assert plain["timings"]["generate_ms"] > 0


def test_turns_without_a_streamed_token_answer_plain_json_with_their_status(streaming_backend, tmp_path, small_api):
    code = streaming_backend.client.post("/agent", json={"phone": PHONE, "message": "¿cuántas notas tengo?"},
                                         headers=STREAM)
    assert code.mimetype == "application/json" and code.json["source"] == "code"
    refused = streaming_backend.client.post("/agent", json={"message": "hola"}, headers=STREAM)
    assert refused.status_code == 400 and refused.json["error"]["param"] == "phone"
    seed = Backend(create_app(backend_settings(tmp_path / "seed", small_api.url, model_timeout_s=60.0)))
    seed.onboard(PHONE)  # the seed /chat does not stream: nothing to tell before the reply
    answer = seed.client.post("/agent", json={"phone": PHONE, "message": OPEN_QUESTION}, headers=STREAM)
    assert answer.mimetype == "application/json" and answer.json["timings"]["generate_ms"] > 0


def test_a_failure_after_the_typing_line_ends_the_stream_with_its_status(streaming_backend, monkeypatch):
    def broken_store(*args, **kwargs):
        raise RuntimeError("disk gone")
    monkeypatch.setattr(Orchestrator, "_store", broken_store)
    response = streaming_backend.client.post("/agent", json={"phone": PHONE, "message": OPEN_QUESTION}, headers=STREAM)
    events = lines(response)
    assert [e["event"] for e in events] == ["typing", "error"]
    assert events[-1]["status"] == 500 and events[-1]["error"]["code"] == "internal_error"
    assert "disk gone" not in response.get_data(as_text=True)  # no internals leak


def test_the_bridge_client_calls_back_on_typing_and_returns_the_reply(streaming_backend, monkeypatch):
    with served_in_thread(streaming_backend.app, "backend-typing") as url:
        client = BackendClient(url, AUTH["Authorization"].removeprefix("Bearer "), timeout_s=60)
        typed = []
        reply = client.agent(PHONE, "¿Qué opinas del río?", "wamid.typing-1", on_typing=lambda: typed.append(1))
        assert typed == [1] and reply["model_output"]["respuesta_chat"] and "event" not in reply
        quick = client.agent(PHONE, "¿cuántas notas tengo?", "wamid.typing-2", on_typing=lambda: typed.append(2))
        assert typed == [1] and quick["source"] == "code"
        monkeypatch.setattr(Orchestrator, "_store", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
        with pytest.raises(BackendUnavailable) as failure:
            client.agent(PHONE, "¿Qué opinas del viento?", "wamid.typing-3", on_typing=lambda: typed.append(3))
        assert failure.value.status == 500 and typed == [1, 3]


def test_a_voice_note_streams_typing_once_heard_and_the_model_writes(tmp_path, speech_api):
    backend = Backend(create_app(backend_settings(tmp_path, f"{speech_api.url}/v1", model_timeout_s=60.0,
                                                  speech_api_url=speech_api.url)))
    backend.onboard(PHONE)
    note = voices.voice_note("qué opinas de la lluvia", "ogg")
    response = backend.client.post("/agent/voice", headers=STREAM, content_type="multipart/form-data",
                                   data={"phone": PHONE, "message_id": "wamid.voice-typing",
                                         "file": (io.BytesIO(note), "nota.ogg", "audio/ogg")})
    assert response.status_code == 200
    if response.mimetype == "application/x-ndjson":
        events = lines(response)
        assert [e["event"] for e in events] == ["typing", "reply"]
        answer = events[-1]
    else:  # whisper heard something code answers: no model token, plain JSON
        answer = response.json
        assert not {"classify_ms", "generate_ms"} & set(answer["timings"])
    assert answer["transcript"] and answer["model_output"]["respuesta_chat"].startswith("🎙️ Entendí")
    used_model = bool({"classify_ms", "generate_ms"} & set(answer["timings"]))
    assert used_model == (response.mimetype == "application/x-ndjson")
