"""The two ways the backend asks a model server for schema-constrained JSON, and what each engine
wants in the request.

Chasqui's seed `/chat` takes {system, context, schema, max_tokens} and answers {content}. The
OpenAI chat-completions protocol takes messages and carries the schema in a way that depends on
the engine (see docs/model_servers.md for the sources):

- Chasqui's own `/v1` and llama.cpp's `llama-server`: `response_format` `json_schema`, turned into
  a grammar, so the output always parses; both take llama.cpp's `repeat_penalty`; llama-server
  keeps the prompt's KV cache per slot with `cache_prompt`.
- llama-cpp-python's server (`python -m llama_cpp.server`): only `json_object`, with the schema
  beside it (`{"type": "json_object", "schema": …}`); a `json_schema` type is refused (HTTP 500
  in 0.3.36, tests/backend/test_other_engines.py).
- vLLM: `response_format` `json_schema` (guided decoding); releases before 0.6 only know the
  `guided_json` extra parameter (engine `vllm-guided`); `repetition_penalty` is its name.
- Ollama: `response_format` `json_schema` on `/v1` since 0.5 (the native API's `format`); no
  repeat penalty on `/v1`, so none is sent.
- OpenAI's hosted API: `strict: true` only accepts schemas where every object says
  `additionalProperties: false` and lists every property as required, and lists no string
  lengths among its keywords; the schema is rewritten that way (an optional property becomes nullable) and
  the answer's nulls are dropped again before it is checked.

The content is JSON text in every case; the caller checks it against its own schema, since not
every engine enforces every keyword."""
from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

REPEAT_PENALTY = 1.1  # what the seed /chat applies; sent where the engine has the knob
STRICT_UNSUPPORTED = ("minLength", "maxLength")  # the guide's supported list has no string lengths


class ProtocolError(RuntimeError):
    """The server answered, but not in the protocol's shape."""


@dataclass
class Generation:
    text: str
    first_token_s: float | None = None  # from sending the request to the first content
    completion_tokens: int | None = None
    generation_s: float | None = None  # from the first content to the last

    @property
    def tokens_per_second(self) -> float | None:
        if not self.completion_tokens or not self.generation_s:
            return None
        return self.completion_tokens / self.generation_s


def context_text(context: dict | str) -> str:
    """The user part exactly as the seed /chat writes it, so both protocols send the same prompt
    (and share the server's prompt cache)."""
    return context if isinstance(context, str) else json.dumps(context, ensure_ascii=False, separators=(",", ":"))


def chasqui_body(system: str, context: dict | str, schema: dict, max_tokens: int, temperature: float) -> dict:
    return {"system": system, "context": context, "max_tokens": max_tokens, "schema": schema,
            "temperature": temperature}


def read_chasqui(body: object) -> Generation:
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        raise ProtocolError("no 'content' string in the /chat answer")
    return _with_server_figures(body["content"], body)


def openai_body(engine: str, model: str, system: str, context: dict | str, schema: dict, max_tokens: int,
                temperature: float, stream: bool) -> dict:
    body: dict = {"model": model,
                  "messages": [{"role": "system", "content": system}, {"role": "user", "content": context_text(context)}],
                  "temperature": temperature, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if engine == "openai":
        body["max_completion_tokens"] = max_tokens  # `max_tokens` is deprecated there
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "answer", "strict": True, "schema": strict_schema(schema)}}
        return body
    body["max_tokens"] = max_tokens
    if engine == "vllm-guided":
        body["guided_json"] = schema
    elif engine == "llama-cpp-python":
        body["response_format"] = {"type": "json_object", "schema": schema}
    else:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    if engine in ("chasqui", "llama.cpp", "llama-cpp-python"):
        body["repeat_penalty"] = REPEAT_PENALTY
    elif engine in ("vllm", "vllm-guided"):
        body["repetition_penalty"] = REPEAT_PENALTY
    if engine == "llama.cpp":
        body["cache_prompt"] = True
    return body


def read_openai(body: object) -> Generation:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ProtocolError("no choices[0].message.content in the completion") from None
    if not isinstance(content, str):
        raise ProtocolError("the completion's content is not text")
    return _with_server_figures(content, body)


def _with_server_figures(text: str, body: dict) -> Generation:
    """A whole answer, with the times the server itself reports: `timings` (Chasqui's and
    llama.cpp's: queued + prompt before the first token) and `usage`."""
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    timings = body.get("timings") if isinstance(body.get("timings"), dict) else {}
    return Generation(text, completion_tokens=_int(usage.get("completion_tokens")),
                      first_token_s=_seconds(timings.get("queued_ms"), timings.get("prompt_ms")),
                      generation_s=_seconds(timings.get("generation_ms") or timings.get("predicted_ms")))


def read_openai_stream(lines: Iterator[bytes], sent_at: float, on_first_token: Callable[[], None] | None = None,
                       deadline: float | None = None) -> Generation:
    """Server-sent events as OpenAI sends them: content deltas, a usage chunk (`choices` empty;
    older llama.cpp puts it on the finish chunk), `[DONE]`. `deadline` (time.monotonic()) bounds
    the whole stream, since a read timeout alone lets a slow trickle run on."""
    pieces: list[str] = []
    first_at = last_at = None
    completion_tokens = None
    chunks = 0
    for raw in lines:
        if deadline is not None and time.monotonic() > deadline:
            raise ProtocolError("time limit reached while streaming")
        line = raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else raw.strip()
        if not line.startswith("data:"):
            continue  # comments, keep-alives, `event:` lines
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            event = json.loads(data)
        except ValueError:
            raise ProtocolError("an event that is not JSON in the stream") from None
        if not isinstance(event, dict):
            raise ProtocolError("an event that is not an object in the stream")
        if "error" in event:
            error = event["error"]
            raise ProtocolError(f"the server failed mid-stream: {str(error.get('message', error) if isinstance(error, dict) else error)[:200]}")
        usage = event.get("usage")
        if isinstance(usage, dict):
            completion_tokens = _int(usage.get("completion_tokens"))
        for choice in event.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                last_at = time.monotonic()
                if first_at is None:
                    first_at = last_at
                    if on_first_token:
                        on_first_token()
                pieces.append(content)
                chunks += 1
    else:
        raise ProtocolError("the stream ended before [DONE]")
    if first_at is None:
        return Generation("".join(pieces))
    tokens = completion_tokens or chunks  # an engine without usage in streams: one token per chunk, near enough
    return Generation("".join(pieces), first_token_s=first_at - sent_at, completion_tokens=tokens,
                      generation_s=(last_at - first_at) or None)


def strict_schema(schema: dict) -> dict:
    """The schema as OpenAI's strict mode accepts it: every object closed and every property
    required (the optional ones may be null), and no string lengths (checked afterwards instead)."""
    def visit(node):
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: visit(value) for key, value in node.items() if key not in STRICT_UNSUPPORTED}
        if node.get("type") == "object" and isinstance(node.get("properties"), dict):
            required = set(node.get("required", []))
            for name, prop in node["properties"].items():
                if name not in required and isinstance(prop, dict):
                    node["properties"][name] = _nullable(prop)
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
        return node
    return visit(copy.deepcopy(schema))


def drop_nulls_of_optional(output: object, schema: dict) -> object:
    """Undo strict_schema's nullable optionals: a null for a property that was optional is absent."""
    if not isinstance(output, dict) or not isinstance(schema.get("properties"), dict):
        return output
    required = set(schema.get("required", []))
    cleaned = {}
    for name, value in output.items():
        prop = schema["properties"].get(name)
        if value is None and name not in required:
            continue
        cleaned[name] = drop_nulls_of_optional(value, prop) if isinstance(prop, dict) else value
    return cleaned


def _nullable(prop: dict) -> dict:
    if isinstance(prop.get("enum"), list) and None not in prop["enum"]:
        prop = {**prop, "enum": [*prop["enum"], None]}
    kind = prop.get("type")
    if isinstance(kind, str):
        return {**prop, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**prop, "type": [*kind, "null"]} if "null" not in kind else prop
    return {"anyOf": [prop, {"type": "null"}]}


def _seconds(*milliseconds) -> float | None:
    values = [m for m in milliseconds if isinstance(m, int | float) and not isinstance(m, bool)]
    return sum(values) / 1000 if values and len(values) == len(milliseconds) else None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
