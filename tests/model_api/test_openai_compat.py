"""The OpenAI-compatible endpoints, driven by the official `openai` client over real HTTP."""
import json

import jsonschema
import openai
import pytest


@pytest.fixture(scope="module")
def client(small_api):
    return openai.OpenAI(base_url=f"{small_api.url}/v1", api_key="not-needed", max_retries=0, timeout=120)


def test_models_lists_the_served_model(client):
    assert [m.id for m in client.models.list()] == ["smollm2-135m-instruct-q4_1"]


def test_chat_completion(client):
    completion = client.chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "Say hello in one word."}], max_tokens=20)
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content.strip()
    assert completion.choices[0].finish_reason in {"stop", "length"}
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_streaming_chat_completion(client):
    stream = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "Count from one to five."}], max_tokens=30, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert text.strip()
    assert finishes == [finishes[-1]] and finishes[-1] in {"stop", "length"}
    assert chunks[-1].usage.completion_tokens > 0


def test_max_tokens_is_honoured_exactly_with_ignore_eos(client):
    completion = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "Hi"}], max_tokens=25, extra_body={"ignore_eos": True})
    assert completion.usage.completion_tokens == 25
    assert completion.choices[0].finish_reason == "length"


def test_json_schema_response_format(client):
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
                                               "population": {"type": "integer"}},
              "required": ["city", "population"]}
    completion = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "Give a city and its population as JSON."}],
        max_tokens=80, response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": schema}})
    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)


def test_json_object_response_format(client):
    completion = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "Describe a llama as JSON."}], max_tokens=120,
        temperature=0, response_format={"type": "json_object"})
    if completion.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(completion.choices[0].message.content), dict)
    else:  # cut at max_tokens: still a prefix of one JSON object
        assert completion.choices[0].message.content.lstrip().startswith("{")


def test_stop_sequence_cuts_the_answer(client):
    messages = [{"role": "user", "content": "Write a short sentence about rivers."}]
    full = client.chat.completions.create(model="x", messages=messages, max_tokens=30, temperature=0, seed=1)
    text = full.choices[0].message.content
    words = text.split()
    assert len(words) >= 4, text
    stop = words[3]
    cut = client.chat.completions.create(model="x", messages=messages, max_tokens=30, temperature=0, seed=1,
                                         stop=[stop])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == text[:text.index(stop)]


def test_bad_request_surfaces_as_openai_error(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="x", messages=[], max_tokens=5)
    assert "messages" in str(raised.value)
