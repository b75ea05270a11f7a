"""Shapes results the way the OpenAI chat-completions API does, so its official client works."""
from __future__ import annotations

import json
import time
import uuid
from typing import Callable, Iterator

from model_api.engine import GenerationResult
from chasqui.http_errors import ApiError


def usage(result: GenerationResult) -> dict:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": result.cached_prompt_tokens},
    }


def model_list(model_name: str) -> dict:
    return {"object": "list",
            "data": [{"id": model_name, "object": "model", "created": 0, "owned_by": "chasqui"}]}


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion(model_name: str, result: GenerationResult, timings: dict) -> dict:
    return {
        "id": _completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": result.text},
            "finish_reason": result.finish_reason,
            "logprobs": None,
        }],
        "usage": usage(result),
        "timings": timings,  # as llama.cpp's server does; clients ignore unknown keys
    }


def _sse(payload: dict | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


def stream(model_name: str, first_event: tuple[str, object], next_event: Callable[[], tuple[str, object]],
           job, include_usage: bool, on_done: Callable[[GenerationResult], None]) -> Iterator[str]:
    """Server-sent events: a role chunk, content chunks, a finish chunk, usage if asked, [DONE]."""
    base = {"id": _completion_id(), "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model_name}

    def chunk(delta: dict, finish_reason: str | None = None) -> str:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                          "logprobs": None}]})

    try:
        yield chunk({"role": "assistant", "content": ""})
        kind, value = first_event
        while kind == "text":
            yield chunk({"content": value})
            kind, value = next_event()
        on_done(value)
        yield chunk({}, value.finish_reason)
        if include_usage:
            yield _sse({**base, "choices": [], "usage": usage(value)})
        yield _sse("[DONE]")
    except ApiError as error:  # headers are gone: the error travels as an event, as OpenAI does
        yield _sse(error.body())
    except GeneratorExit:  # the client hung up: stop generating for nobody
        job.cancel()
        raise
