"""Every HTTP input of the model API, against the real small GGUF (SmolLM2-135M, the model the
tests in tests/model_api use): bad bodies, headers and query strings on every route, and valid
/chat and /v1/chat/completions bodies with one field broken (the schema included).

Most generated bodies must be refused; the ones accepted run real inference, kept short by the
API's own MODEL_API_MAX_TOKENS (16 here: any max_tokens a mutation makes valid is at most that).
/v1/audio/transcriptions takes a multipart form (real faster-whisper base behind it): its valid
forms have one field replaced, removed, repeated or added, the file included.
Per request: no 5xx; a refusal is JSON that says what is wrong; after an accepted one the API is
still ready, its queues empty, and a plain request is answered."""
from __future__ import annotations

import io
import time

import pytest
from hypothesis import given, settings, strategies as st

from model_api.app import create_app
from model_api.catalog import DEFAULT_SPEECH_MODEL, TEST_MODEL, lookup, lookup_speech
from model_api.settings import load_settings, models_dir
from model_api.speech_files import install_speech_from_registry
from tests.robustness import strategies as bad
from tests.robustness.harness import Sent, assert_answer, route_table, rules, send
from tests.speech.voices import silence, voice_note

TOKEN = "model-api-robustness-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
MAX_TOKENS = 16
TRANSCRIPTIONS = "/v1/audio/transcriptions"
EXPECTED_ROUTES = {("GET", "/health"), ("GET", "/health/live"), ("GET", "/health/ready"), ("POST", "/chat"),
                   ("POST", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/metrics"),
                   ("POST", TRANSCRIPTIONS)}
YES_NO = {"type": "object", "properties": {"r": {"type": "string", "enum": ["si", "no"]}}, "required": ["r"]}
EXAMPLES = {
    ("POST", "/chat"): [
        {"system": "Responde solo con JSON.", "context": {"pregunta": "¿Llueve hoy?"}, "max_tokens": 16,
         "schema": YES_NO, "temperature": 0, "seed": 1},
        {"system": "Responde solo con JSON.", "context": "¿Riego hoy?", "max_tokens": 16,
         "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}}],
    ("POST", "/v1/chat/completions"): [
        {"model": TEST_MODEL, "messages": [{"role": "system", "content": "Eres breve."},
                                           {"role": "user", "content": "Hola"}],
         "max_tokens": 4, "temperature": 0, "seed": 1, "stop": ["\n"]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "¿Sí o no?"}]}], "max_tokens": 12,
         "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": YES_NO}}},
        {"messages": [{"role": "user", "content": "Hola"}], "max_tokens": 3, "stream": True,
         "stream_options": {"include_usage": True}}],
}
GET_ROUTES = {("GET", path) for path in ("/health", "/health/live", "/health/ready", "/v1/models", "/metrics")}
# Multipart forms: (field, value) pairs, bytes for the file. Short notes: an accepted one is transcribed.
NOTE, QUIET = voice_note("hola"), silence(1)
FORM_EXAMPLES = {
    ("POST", TRANSCRIPTIONS): [
        [("file", NOTE), ("model", "whisper-1"), ("language", "es"), ("prompt", "riego, maíz"),
         ("response_format", "verbose_json"), ("temperature", "0"), ("timestamp_granularities[]", "word")],
        [("file", QUIET), ("model", "whisper-1"), ("response_format", "text")]],
}
BAD_FILES = [b"", b"\x00" * 64, NOTE[:len(NOTE) // 2], NOTE[:40], b"OggS" + bytes(100), b"\x89PNG\r\n\x1a\n" + bytes(50),
             "¿cuándo riego?".encode(), b"\xff\xfb" + bytes(500), b"ID3" + bytes(300), b"RIFF\x00\x00\x00\x00WAVE"]


@pytest.fixture(scope="module")
def model_api(module_patch):
    path = models_dir() / lookup(TEST_MODEL).file_name
    assert path.is_file(), f"{path} missing: run ./dev test (it installs the test models)"
    module_patch.setenv("CHASQUI_MODEL", TEST_MODEL)
    module_patch.setenv("SPEECH_MODEL", DEFAULT_SPEECH_MODEL)
    module_patch.delenv("SPEECH_MODEL_PATH", raising=False)
    install_speech_from_registry(lookup_speech(DEFAULT_SPEECH_MODEL), models_dir())  # verified when there already
    # One thread: on a busy two-core machine two llama.cpp threads wait on each other at every
    # step, and a 4-token answer took 30 s; alone it is ~0.3 s either way.
    model_settings = load_settings().with_overrides(n_ctx=2048, token=TOKEN, warm_up=False, max_tokens_limit=MAX_TOKENS,
                                                    request_timeout_s=60.0, queue_size=4, n_threads=1)
    app = create_app(model_settings)
    service, speech = app.extensions["chasqui_model_service"], app.extensions["chasqui_speech_service"]
    deadline = time.monotonic() + 120
    while "loading" in (service.state, speech.state) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.state == "ready", service.error
    assert speech.state == "ready", speech.error
    return app


def check_model_request(app, go) -> Sent:
    sent = go()
    assert_answer(sent)
    if sent.accepted:
        assert_still_serves(app, sent)
    return sent


def assert_still_serves(app, after: Sent) -> None:
    """Ready, nothing left in the queues, and a plain request answered."""
    client = app.test_client()
    deadline = time.monotonic() + 5  # the workers mark themselves idle just after handing the answer over

    def busy(health) -> int:
        return health["queue_depth"] + health["speech"]["queue_depth"]
    while busy((health := client.get("/health")).get_json()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert health.status_code == 200 and not busy(health.get_json()), (health.get_json(), str(after))
    if after.path == TRANSCRIPTIONS:
        plain = client.post(TRANSCRIPTIONS, headers={"Authorization": AUTH["Authorization"]},
                            data={"file": (io.BytesIO(QUIET), "nota.ogg")}, content_type="multipart/form-data")
    else:
        plain = client.post("/v1/chat/completions", headers=AUTH,
                            json={"messages": [{"role": "user", "content": "Hola"}], "max_tokens": 1})
    assert plain.status_code == 200, (plain.get_data()[:300], str(after))


def post(app, path: str, body: bytes, headers: dict | None = None, environ: dict | None = None, note: str = "") -> Sent:
    return send(app.test_client(), "model_api", "POST", path, body=body, headers=AUTH if headers is None else headers,
                environ=environ, note=note)


def post_form(app, fields: list[tuple[str, object]], note: str = "") -> Sent:
    """A multipart form; bytes values go as files, as OpenAI's clients send them. A lone surrogate
    goes as what a server decodes from a broken client's bytes (the test client cannot write it)."""
    def text(value: str) -> str:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    data: dict[str, list] = {}
    for name, value in fields:
        data.setdefault(text(name), []).append((io.BytesIO(value), "nota.ogg") if isinstance(value, bytes)
                                               else text(value))
    return send(app.test_client(), "model_api", "POST", TRANSCRIPTIONS, note=note, data=data,
                headers={"Authorization": AUTH["Authorization"]}, content_type="multipart/form-data")


def test_the_enumeration_finds_the_routes(model_api):
    assert EXPECTED_ROUTES <= route_table(model_api)


def test_every_route_has_a_valid_example(model_api):
    missing = route_table(model_api) - set(EXAMPLES) - set(FORM_EXAMPLES) - GET_ROUTES
    assert not missing, f"add a valid example to tests/robustness/test_model_api_inputs.py for {sorted(missing)}"


def test_every_example_is_accepted(model_api):
    for (_, path), bodies in EXAMPLES.items():
        for body in bodies:
            sent = check_model_request(model_api, lambda: post(model_api, path, bad.body_bytes(body)))
            assert sent.status == 200, str(sent)
    for fields in FORM_EXAMPLES[("POST", TRANSCRIPTIONS)]:
        assert check_model_request(model_api, lambda: post_form(model_api, fields)).status == 200
    for method, path in sorted(GET_ROUTES):
        assert check_model_request(model_api, lambda: send(model_api.test_client(), "model_api", method, path,
                                                           headers=AUTH)).status == 200


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_one_field_broken_in_a_valid_body(model_api, data):
    path = data.draw(st.sampled_from(sorted(p for _, p in EXAMPLES)), label="route")
    valid = data.draw(st.sampled_from(EXAMPLES[("POST", path)]), label="example")
    body, mutation = data.draw(bad.mutated(valid), label="mutation")
    sent = check_model_request(model_api, lambda: post(model_api, path, bad.body_bytes(body), note=mutation.describe()))
    if sent.status == 400 and mutation.path and sent.response.get_json()["error"]["code"] != "invalid_json":
        error = sent.response.get_json()["error"]
        said = f"{error.get('param')} {error['message']}"
        names = [str(part) for part in mutation.path if isinstance(part, str)]
        assert mutation.kind == "added" or any(name in said for name in names) or "schema" in said, \
            f"the refusal does not name {mutation.describe()}: {sent}"


# Half the examples: an accepted form is a real transcription, and without its prompt Whisper
# often re-decodes espeak's «hola» at higher temperatures (40 examples took 33 s, 20 take 5 s).
@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(0.5), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_one_field_broken_in_a_valid_form(model_api, data):
    fields = list(data.draw(st.sampled_from(FORM_EXAMPLES[("POST", TRANSCRIPTIONS)]), label="example"))
    index = data.draw(st.integers(0, len(fields) - 1), label="field")
    how = data.draw(st.sampled_from(["replace", "replace", "replace", "remove", "repeat", "extra"]), label="how")
    name, _ = fields[index]
    value = data.draw(st.sampled_from(BAD_FILES) if name == "file" else bad.form_value(), label="value")
    if how == "remove":
        del fields[index]
    elif how == "repeat":  # the same field twice: the first is read
        fields.insert(index + 1, (name, value))
    elif how == "extra":
        fields.append((data.draw(st.sampled_from(["stream", "include[]", "chunking_strategy", "file2", "\ud800"])),
                       value))
    else:
        fields[index] = (name, value)
    sent = check_model_request(model_api, lambda: post_form(model_api, fields, note=f"{how} {name}"))
    if sent.status == 400 and how in ("replace", "remove"):
        assert sent.response.get_json()["error"]["param"] in (name, "file", "timestamp_granularities[]"), str(sent)


@settings(derandomize=True, database=None, deadline=None, max_examples=bad.examples(), suppress_health_check=bad.SUPPRESS)
@given(data=st.data())
def test_bad_bodies_headers_and_queries_on_every_route(model_api, data):
    rule = data.draw(st.sampled_from(rules(model_api)), label="rule")
    method = data.draw(st.sampled_from(sorted(rule.methods - {"OPTIONS"}) + ["PUT", "DELETE"]), label="method")
    body = data.draw(st.none() | bad.bad_bodies(), label="body")
    headers, environ = data.draw(bad.headers(TOKEN), label="headers")
    query = bad.encode_query(data.draw(st.lists(st.tuples(st.sampled_from(["model", "stream", "limit"]),
                                                          bad.query_value()), max_size=3), label="query"))
    sent = check_model_request(model_api, lambda: send(model_api.test_client(), "model_api", method, rule.rule, query,
                                                       body, headers, environ))
    if not rule.rule.startswith("/health") and headers.get("Authorization") != f"Bearer {TOKEN}":
        assert sent.status in (401, 405), str(sent)  # the token is checked before anything is read
