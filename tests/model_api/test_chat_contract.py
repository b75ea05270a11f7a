"""The seed contract, POST /chat, with real inference: output always parses and fits the schema."""
import json

import jsonschema
import requests

from model_api.output_schema import SEED_OUTPUT_SCHEMA
from model_api.warm_up import default_system_prompt

CONTEXT = {
    "usuario": {"nombre": "Rosa", "cultivo": "maíz"},
    "hechos": {"proximo_riego": "jueves 26 de noviembre", "lamina_mm": 28},
    "mensaje": "¿Cuándo riego mi maíz?",
}


def post_chat(api, **body):
    return requests.post(f"{api.url}/chat", json=body, timeout=120)


def test_chat_default_schema_parses_on_the_default_model(default_api):
    response = post_chat(default_api, system=default_system_prompt(), context=CONTEXT, max_tokens=300)
    assert response.status_code == 200, response.text
    body = response.json()
    output = json.loads(body["content"])
    jsonschema.validate(output, SEED_OUTPUT_SCHEMA)
    assert output["respuesta_chat"].strip()
    assert body["model"] == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert body["usage"]["completion_tokens"] > 0
    assert body["timings"]["generation_tokens_per_second"] > 0


def test_chat_output_parses_for_many_contexts_on_the_small_model(small_api):
    # SmolLM2-135M left alone rarely writes this JSON; the grammar makes every answer parse.
    questions = ["¿Cuándo riego?", "Hola", "Vi gusano cogollero en el lote 2", "corrí 10 km en 55 min",
                 "¿qué me toca hoy?", '"}{ ] rompe el json']
    for seed, question in enumerate(questions):
        response = post_chat(small_api, system=default_system_prompt(), context={"mensaje": question},
                             max_tokens=300, seed=seed)
        assert response.status_code == 200, response.text
        jsonschema.validate(json.loads(response.json()["content"]), SEED_OUTPUT_SCHEMA)


def test_chat_accepts_a_string_context(small_api):
    schema = {"type": "object", "properties": {"saludo": {"type": "string", "maxLength": 30}},
              "required": ["saludo"]}
    response = post_chat(small_api, system="Saluda en JSON.", context="Hola, buenos días", schema=schema)
    assert response.status_code == 200, response.text
    jsonschema.validate(json.loads(response.json()["content"]), schema)


def test_chat_custom_schema_is_enforced(small_api):
    schema = {
        "type": "object",
        "properties": {
            "riego": {"type": "string", "enum": ["hoy", "mañana", "no"]},
            "lamina_mm": {"type": "integer"},
            "urgencia": {"enum": [1, 2, 3]},
            "motivos": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 3},
        },
        "required": ["riego", "lamina_mm", "urgencia", "motivos"],
        "additionalProperties": False,
    }
    for seed in range(3):
        response = post_chat(small_api, system="Decide si regar. JSON.", context={"suelo": "seco"},
                             max_tokens=200, schema=schema, seed=seed)
        assert response.status_code == 200, response.text
        jsonschema.validate(json.loads(response.json()["content"]), schema)


def test_chat_too_few_tokens_for_the_json_is_a_clear_422(small_api):
    response = post_chat(small_api, system="JSON", context="hola", max_tokens=3)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "output_truncated"


def test_the_shared_system_prompt_prefix_is_reused(default_api):
    first = post_chat(default_api, system=default_system_prompt(), context={"mensaje": "Hola"}, max_tokens=60)
    second = post_chat(default_api, system=default_system_prompt(), context={"mensaje": "¿Lloverá mañana?"},
                       max_tokens=60)
    assert first.status_code == 200 and second.status_code == 200
    cached = second.json()["usage"]["prompt_tokens_details"]["cached_tokens"]
    prompt = second.json()["usage"]["prompt_tokens"]
    # The system prompt is ~150 tokens; only the short user turn is evaluated again.
    assert cached >= 100 and prompt - cached < 40, second.json()["usage"]


def test_schema_is_checked_lazily_on_the_default_model(default_api):
    """The grammar filters the whole vocabulary only when the sampled token breaks it (see
    grammar_sampler.py): on the real model that is a small share of the generated tokens."""
    response = post_chat(default_api, system=default_system_prompt(), context=CONTEXT, max_tokens=300)
    body = response.json()
    passes = body["timings"]["grammar_full_vocabulary_passes"]
    assert passes < body["usage"]["completion_tokens"] / 3, body


def test_schema_keywords_the_grammar_cannot_enforce_are_refused(small_api):
    schema = {"type": "object", "properties": {"lamina_mm": {"type": "integer", "maximum": 100}}}
    response = post_chat(small_api, system="JSON", context="hola", schema=schema)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_schema" and "properties.lamina_mm.maximum" in error["message"]
