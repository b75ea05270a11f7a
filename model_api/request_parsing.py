"""Turns `/chat` and `/v1/chat/completions` bodies into GenerationRequests, or says exactly
what is wrong with them (field, expected type, allowed range)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import jsonschema

from model_api.engine import GenerationRequest
from chasqui.http_errors import bad_request
from model_api.grammar_sampler import SamplingParams
from model_api.json_grammar import JSON_OBJECT_GBNF, schema_to_gbnf as compile_schema
from model_api.output_schema import SEED_OUTPUT_SCHEMA

CHAT_DEFAULT_MAX_TOKENS = 300
# A mild penalty breaks the loops small models fall into inside free-form JSON objects.
CHAT_REPEAT_PENALTY = 1.1
MAX_STOP_SEQUENCES = 4


@dataclass
class ParsedChat:
    generation: GenerationRequest
    schema: dict
    schema_from_client: bool = False  # the caller's own schema, not the seed contract's


@dataclass
class ParsedCompletion:
    generation: GenerationRequest
    stream: bool
    include_usage: bool
    json_schema: dict | None


def _number(body: dict, name: str, default: float, low: float, high: float) -> float:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"'{name}' must be a number", name)
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}, got {value}", name)
    return float(value)


def _max_tokens(body: dict, names: tuple[str, ...], default: int, limit: int) -> int:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"'{name}' must be a whole number", name)
        if not 1 <= value <= limit:
            raise bad_request(f"'{name}' must be between 1 and {limit}, got {value}", name,
                              code="max_tokens_out_of_range")
        return value
    return min(default, limit)


def _seed(body: dict) -> int:
    seed = body.get("seed")
    if seed is None:
        return SamplingParams.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise bad_request("'seed' must be a non-negative whole number", "seed")
    return seed & 0xFFFFFFFF


def _required_but_undeclared(schema: object, where: str) -> list[str]:
    """Names in `required` missing from `properties`: the grammar lets an object leave them out
    ({"type": "object", "required": ["r"]} generates {}), so the answer could never fit."""
    found = []
    if isinstance(schema, dict):
        required, declared = schema.get("required"), schema.get("properties")
        if isinstance(required, list):
            names = declared if isinstance(declared, dict) else {}
            found += [f"{where}.required: {name!r}" for name in required if isinstance(name, str) and name not in names]
        for key, value in schema.items():
            if key not in ("enum", "const", "default", "examples"):
                found += _required_but_undeclared(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += _required_but_undeclared(item, f"{where}[{index}]")
    return found


def schema_to_gbnf(schema: object, param: str) -> str:
    if not isinstance(schema, dict):
        raise bad_request(f"'{param}' must be a JSON schema object", param)
    try:  # the answer is validated against it later: a broken schema there would be a 500
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as problem:
        where = "/".join(str(part) for part in problem.absolute_path) or "the top level"
        raise bad_request(f"'{param}' is not a valid JSON schema at {where}: {problem.message[:200]}", param,
                          code="invalid_schema") from None
    if undeclared := _required_but_undeclared(schema, param):
        raise bad_request(f"'{param}' requires properties it does not declare in 'properties', which cannot be "
                          f"enforced while generating: {', '.join(undeclared[:5])}", param, code="invalid_schema")
    try:
        return compile_schema(schema)
    except Exception as problem:  # the converter raises plain exceptions on unsupported schemas
        raise bad_request(f"'{param}' cannot be turned into a grammar: {problem}", param,
                          code="invalid_schema") from None


def parse_chat(body: object, max_tokens_limit: int) -> ParsedChat:
    """The seed contract: {"system": str, "context": object|str, "max_tokens": int, "schema"?: object}."""
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    system = body.get("system")
    if not isinstance(system, str) or not system.strip():
        raise bad_request("'system' is required and must be a non-empty string", "system")
    if "context" not in body:
        raise bad_request("'context' is required (an object or a string)", "context")
    context = body["context"]
    if isinstance(context, dict):
        context_text = json.dumps(context, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(context, str):
        context_text = context
    else:
        raise bad_request("'context' must be an object or a string", "context")
    schema = body.get("schema")
    schema_from_client = schema is not None
    if schema is None:
        schema = SEED_OUTPUT_SCHEMA
    gbnf = schema_to_gbnf(schema, "schema")
    sampling = SamplingParams(
        temperature=_number(body, "temperature", 0.3, 0.0, 2.0),
        repeat_penalty=CHAT_REPEAT_PENALTY,
        seed=_seed(body),
    )
    generation = GenerationRequest(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": context_text}],
        max_tokens=_max_tokens(body, ("max_tokens",), CHAT_DEFAULT_MAX_TOKENS, max_tokens_limit),
        sampling=sampling,
        gbnf=gbnf,
    )
    return ParsedChat(generation=generation, schema=schema, schema_from_client=schema_from_client)


_ROLES = {"system", "user", "assistant", "developer", "tool"}


def _message_text(message: object, index: int) -> dict:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_request(f"'{param}' must be an object with 'role' and 'content'", param)
    role = message.get("role")
    if not isinstance(role, str) or role not in _ROLES:  # a list or an object is not hashable: a 500
        raise bad_request(f"'{param}.role' must be one of {sorted(_ROLES)}", f"{param}.role")
    content = message.get("content")
    if isinstance(content, list):  # content parts: only text parts are understood here
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise bad_request(f"'{param}.content' parts must be text parts", f"{param}.content")
            texts.append(part["text"])
        content = "".join(texts)
    if content is None and role == "assistant":
        content = ""
    if not isinstance(content, str):
        raise bad_request(f"'{param}.content' must be a string", f"{param}.content")
    return {"role": "system" if role == "developer" else role, "content": content}


def _response_format(body: dict) -> tuple[str | None, dict | None]:
    fmt = body.get("response_format")
    if fmt is None:
        return None, None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):  # a tuple: no hashing
        raise bad_request("'response_format.type' must be 'text', 'json_object' or 'json_schema'", "response_format")
    if fmt["type"] == "text":
        return None, None
    if fmt["type"] == "json_object":
        return JSON_OBJECT_GBNF, None
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise bad_request("'response_format.json_schema.schema' must be a JSON schema object",
                          "response_format.json_schema.schema")
    return schema_to_gbnf(spec["schema"], "response_format.json_schema.schema"), spec["schema"]


def _stop(body: dict) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop) or len(stop) > MAX_STOP_SEQUENCES:
        raise bad_request(f"'stop' must be a string or a list of at most {MAX_STOP_SEQUENCES} strings", "stop")
    return [s for s in stop if s]


def parse_completion(body: object, max_tokens_limit: int) -> ParsedCompletion:
    """The OpenAI chat-completions request, with llama.cpp's `ignore_eos` and `repeat_penalty` extensions."""
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list", "messages")
    if body.get("n", 1) != 1:
        raise bad_request("only n=1 is supported", "n")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be true or false", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object", "stream_options")
    ignore_eos = body.get("ignore_eos", False)
    if not isinstance(ignore_eos, bool):
        raise bad_request("'ignore_eos' must be true or false", "ignore_eos")
    gbnf, json_schema = _response_format(body)
    sampling = SamplingParams(
        temperature=_number(body, "temperature", 0.7, 0.0, 2.0),
        top_p=_number(body, "top_p", 0.95, 0.0, 1.0),
        repeat_penalty=_number(body, "repeat_penalty", 1.0, 0.5, 2.0),
        seed=_seed(body),
    )
    generation = GenerationRequest(
        messages=[_message_text(m, i) for i, m in enumerate(messages)],
        max_tokens=_max_tokens(body, ("max_completion_tokens", "max_tokens"), 512, max_tokens_limit),
        sampling=sampling,
        gbnf=gbnf,
        stop=_stop(body),
        ignore_eos=ignore_eos and gbnf is None,
    )
    return ParsedCompletion(generation=generation, stream=stream,
                            include_usage=bool(options.get("include_usage")), json_schema=json_schema)
