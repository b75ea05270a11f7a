"""What each engine is sent and how its answers are read (sources in backend/agent/model_protocols.py)."""
import json

import jsonschema
import pytest

from backend.agent import model_protocols as protocols
from backend.agent.answering import SCHEMA as ANSWER_SCHEMA
from backend.understanding.classifier import schema as intent_schema

OPTIONAL = {"type": "object", "properties": {"respuesta_chat": {"type": "string", "minLength": 1, "maxLength": 400},
                                             "lote": {"type": "integer", "minimum": 1},
                                             "cultivo": {"type": "string", "enum": ["maiz", "papa"]},
                                             "riego": {"type": "object", "properties": {"mm": {"type": "number"}}}},
            "required": ["respuesta_chat"]}


def body(engine, schema=ANSWER_SCHEMA, stream=False):
    return protocols.openai_body(engine, "m", "Eres Chasqui.", {"pregunta": "¿riego?"}, schema, 120, 0.0, stream)


def test_the_user_part_is_written_as_the_seed_chat_writes_it():
    sent = body("chasqui")["messages"]
    assert sent == [{"role": "system", "content": "Eres Chasqui."}, {"role": "user", "content": '{"pregunta":"¿riego?"}'}]
    assert protocols.context_text("Mensaje: «hola»") == "Mensaje: «hola»"


@pytest.mark.parametrize("engine", ["chasqui", "llama.cpp", "vllm", "ollama", "other"])
def test_engines_that_take_response_format_json_schema_get_it_nested_and_named(engine):
    sent = body(engine)
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA}}
    assert sent["max_tokens"] == 120 and "max_completion_tokens" not in sent and "guided_json" not in sent


def test_the_repeat_penalty_goes_by_each_engines_name_and_nowhere_it_is_unknown():
    assert body("chasqui")["repeat_penalty"] == body("llama.cpp")["repeat_penalty"] == protocols.REPEAT_PENALTY
    assert body("vllm")["repetition_penalty"] == protocols.REPEAT_PENALTY and "repeat_penalty" not in body("vllm")
    for engine in ("ollama", "openai", "other"):
        assert not {"repeat_penalty", "repetition_penalty"} & set(body(engine))
    assert body("llama.cpp")["cache_prompt"] is True and "cache_prompt" not in body("vllm")


def test_old_vllm_gets_guided_json_and_llama_cpp_python_a_json_object_with_its_schema():
    old = body("vllm-guided")
    assert old["guided_json"] == ANSWER_SCHEMA and "response_format" not in old
    assert body("llama-cpp-python")["response_format"] == {"type": "json_object", "schema": ANSWER_SCHEMA}


def test_openai_gets_a_strict_schema_and_max_completion_tokens():
    sent = body("openai", OPTIONAL)
    assert sent["max_completion_tokens"] == 120 and "max_tokens" not in sent
    spec = sent["response_format"]["json_schema"]
    assert spec["strict"] is True and spec["name"] == "answer"
    strict = spec["schema"]

    def check(node):  # the guide's rules, everywhere in the tree
        if isinstance(node, dict):
            assert "minLength" not in node and "maxLength" not in node
            if node.get("type") == "object" or node.get("type") == ["object", "null"]:
                assert node["additionalProperties"] is False and set(node["required"]) == set(node["properties"])
            for value in node.values():
                check(value)
    check(strict)
    assert strict["properties"]["lote"] == {"type": ["integer", "null"], "minimum": 1}
    assert strict["properties"]["cultivo"]["enum"] == ["maiz", "papa", None]
    assert strict["properties"]["respuesta_chat"] == {"type": "string"}  # required: not nullable
    assert OPTIONAL["properties"]["respuesta_chat"]["maxLength"] == 400  # the caller's schema untouched


def test_the_nulls_strict_mode_forces_are_dropped_before_the_answer_is_checked():
    answer = {"respuesta_chat": "Riega mañana.", "lote": None, "cultivo": None, "riego": {"mm": None}}
    cleaned = protocols.drop_nulls_of_optional(answer, OPTIONAL)
    assert cleaned == {"respuesta_chat": "Riega mañana.", "riego": {}}
    jsonschema.validate(cleaned, OPTIONAL)
    jsonschema.validate(json.loads('{"intencion": "riego"}'), protocols.strict_schema(intent_schema(["riego", "plaga"])))


def test_streaming_asks_for_usage():
    assert body("vllm", stream=True)["stream_options"] == {"include_usage": True}
    assert "stream_options" not in body("vllm")  # vLLM refuses stream_options without stream


def sse(*events):
    return [f"data: {e if isinstance(e, str) else json.dumps(e)}".encode() for e in events]


def delta(text, finish=None, usage=None):
    event = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    return {**event, "usage": usage} if usage else event


def test_a_stream_is_read_with_usage_in_its_own_chunk_or_on_the_finish_chunk():
    separate = sse(delta('{"respuesta_chat"'), delta(': "Sí"}'), {"choices": [], "usage": {"completion_tokens": 7}}, "[DONE]")
    first = []
    read = protocols.read_openai_stream([b": keep-alive", *separate], 0.0, lambda: first.append(True))
    assert read.text == '{"respuesta_chat": "Sí"}' and read.completion_tokens == 7 and first == [True]
    assert read.first_token_s is not None and read.first_token_s > 0
    on_finish = sse(delta('{"a": 1}'), delta("", "stop", {"completion_tokens": 4}), "[DONE]")
    assert protocols.read_openai_stream(on_finish, 0.0).completion_tokens == 4
    without_usage = sse(delta("{"), delta("}"), "[DONE]")
    assert protocols.read_openai_stream(without_usage, 0.0).completion_tokens == 2  # one per chunk


@pytest.mark.parametrize("lines, message", [
    (sse(delta("{"), {"error": {"message": "the model failed"}}), "failed mid-stream: the model failed"),
    (sse(delta("{")), "ended before"),
    ([b"data: {not json"], "not JSON"),
])
def test_a_broken_stream_is_a_protocol_error(lines, message):
    with pytest.raises(protocols.ProtocolError, match=message):
        protocols.read_openai_stream(lines, 0.0)


def test_a_stream_past_its_deadline_stops():
    with pytest.raises(protocols.ProtocolError, match="time limit"):
        protocols.read_openai_stream(sse(delta("{"), delta("}"), "[DONE]"), 0.0, deadline=0.0)


def test_answers_are_read_with_the_servers_own_timings():
    chat = protocols.read_chasqui({"content": "{}", "usage": {"completion_tokens": 9},
                                   "timings": {"queued_ms": 100.0, "prompt_ms": 400.0, "generation_ms": 300.0}})
    assert (chat.first_token_s, chat.completion_tokens, round(chat.tokens_per_second)) == (0.5, 9, 30)
    completion = protocols.read_openai({"choices": [{"message": {"content": "{}"}}], "usage": {"completion_tokens": 3},
                                        "timings": {"prompt_ms": 20, "predicted_ms": 100}})
    assert completion.text == "{}" and completion.first_token_s is None and completion.tokens_per_second == 30
    for broken in ({"choices": []}, {"choices": [{"message": {"content": None}}]}, [], {"content": 3}):
        with pytest.raises(protocols.ProtocolError):
            (protocols.read_chasqui if "content" in broken else protocols.read_openai)(broken)
