"""Model API throughput: llama-cpp-python in-process vs the Chasqui model API over HTTP.

Both sides are measured the same way, from the consumer's seat: the answer is streamed, the
time to the first token covers the prompt, the time between the first and the last token covers
generation, and tokens are counted with the model's own tokenizer. Each prompt starts with a
fresh nonce so no prompt prefix is reused from a previous run. Prints a table; no pass/fail.

    .venv/bin/python bench/model_api_throughput.py [--model NAME] [--runs 3] [--max-tokens 128]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from llama_cpp import Llama  # noqa: E402

from model_api.catalog import DEFAULT_MODEL, lookup  # noqa: E402
from model_api.settings import models_dir  # noqa: E402
from model_api.warm_up import default_system_prompt  # noqa: E402
from tests.servers import start_model_api  # noqa: E402

QUESTION = "Explica paso a paso cómo preparar el suelo y regar un campo de maíz en la sierra."
N_CTX = 2048


def messages() -> list[dict]:
    nonce = uuid.uuid4().hex[:12]  # a different first token sequence every run: no prefix reuse
    return [{"role": "system", "content": f"[{nonce}] {default_system_prompt()}"},
            {"role": "user", "content": QUESTION}]


class Meter:
    """Times one streamed answer."""

    def __init__(self):
        self.start = time.perf_counter()
        self.first = self.last = None
        self.text = ""

    def piece(self, text: str) -> None:
        if not text:
            return
        now = time.perf_counter()
        self.first = self.first or now
        self.last = now
        self.text += text

    def rates(self, tokenizer: Llama, prompt_tokens: int) -> tuple[float, float, int]:
        generated = len(tokenizer.tokenize(self.text.encode(), add_bos=False, special=False))
        prompt_rate = prompt_tokens / (self.first - self.start)
        gen_rate = (generated - 1) / (self.last - self.first) if self.last > self.first else 0.0
        return prompt_rate, gen_rate, generated


def in_process(model_path: Path, threads: int, runs: int, max_tokens: int, json_mode: bool, tokenizer: Llama):
    llm = Llama(model_path=str(model_path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False)
    results = []
    for _ in range(runs + 1):  # the first run warms caches and is dropped
        msgs = messages()
        prompt_tokens = len(llm.tokenize(_render(llm, msgs).encode(), add_bos=False, special=True))
        meter = Meter()
        extra = {"response_format": {"type": "json_object"}} if json_mode else {}
        for chunk in llm.create_chat_completion(messages=msgs, max_tokens=max_tokens, temperature=0,
                                                stream=True, **extra):
            meter.piece(chunk["choices"][0]["delta"].get("content") or "")
        results.append(meter.rates(tokenizer, prompt_tokens))
    del llm
    return results[1:]


def _render(llm: Llama, msgs: list[dict]) -> str:
    from llama_cpp import llama_chat_format

    handler = llama_chat_format.Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()), bos_token="")
    return handler(messages=msgs).prompt


def over_http(url: str, runs: int, max_tokens: int, json_mode: bool, tokenizer: Llama):
    results = []
    for _ in range(runs + 1):
        body = {"messages": messages(), "max_tokens": max_tokens, "temperature": 0, "stream": True,
                "stream_options": {"include_usage": True}}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        meter = Meter()
        prompt_tokens = 0
        with requests.post(f"{url}/v1/chat/completions", json=body, stream=True, timeout=600) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith(b"data: ") or line == b"data: [DONE]":
                    continue
                event = json.loads(line[6:])
                if event.get("usage"):
                    prompt_tokens = event["usage"]["prompt_tokens"]
                for choice in event.get("choices", []):
                    meter.piece(choice["delta"].get("content") or "")
        results.append(meter.rates(tokenizer, prompt_tokens))
    return results[1:]


def seed_chat(url: str, runs: int):
    """/chat with the seed schema, as the backend calls it; speeds as the server measured them."""
    results = []
    for _ in range(runs + 1):
        msgs = messages()
        response = requests.post(f"{url}/chat", timeout=600, json={
            "system": msgs[0]["content"], "context": {"mensaje": QUESTION}, "max_tokens": 300, "temperature": 0})
        response.raise_for_status()
        body = response.json()
        timings = body["timings"]
        results.append((timings["prompt_tokens_per_second"], timings["generation_tokens_per_second"],
                        body["usage"]["completion_tokens"]))
    return results[1:]


def median(rows, index):
    return statistics.median(row[index] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("CHASQUI_MODEL", DEFAULT_MODEL))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    model = lookup(args.model)
    path = models_dir() / model.file_name
    tokenizer = Llama(model_path=str(path), vocab_only=True, verbose=False)

    rows = {}
    print(f"model {model.name}, {args.threads} threads, {args.runs} runs each (+1 warm-up), "
          f"max_tokens {args.max_tokens}", flush=True)
    rows["in-process, free text"] = in_process(path, args.threads, args.runs, args.max_tokens, False, tokenizer)
    rows["in-process, json_object grammar"] = in_process(path, args.threads, args.runs, args.max_tokens, True,
                                                         tokenizer)
    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
    api = start_model_api(scratch, model.name, MODEL_N_CTX=str(N_CTX), MODEL_N_THREADS=str(args.threads),
                          CHASQUI_LOG_LEVEL="WARNING")
    try:
        rows["HTTP /v1, free text"] = over_http(api.url, args.runs, args.max_tokens, False, tokenizer)
        rows["HTTP /v1, json_object grammar"] = over_http(api.url, args.runs, args.max_tokens, True, tokenizer)
        rows["HTTP /chat, seed schema (server timings)"] = seed_chat(api.url, args.runs)
    finally:
        api.stop()

    print(f"\n{'mode':42} {'prompt tok/s':>12} {'gen tok/s':>10} {'tokens':>7}")
    for name, results in rows.items():
        print(f"{name:42} {median(results, 0):12.1f} {median(results, 1):10.1f} {median(results, 2):7.0f}")
    base_gen, http_gen = median(rows["in-process, free text"], 1), median(rows["HTTP /v1, free text"], 1)
    base_prompt, http_prompt = median(rows["in-process, free text"], 0), median(rows["HTTP /v1, free text"], 0)
    grammar_http = median(rows["HTTP /v1, json_object grammar"], 1)
    grammar_base = median(rows["in-process, json_object grammar"], 1)
    print(f"\nHTTP overhead, generation: {100 * (1 - http_gen / base_gen):+.1f} %   (target <= 5 %)")
    print(f"HTTP overhead, prompt:     {100 * (1 - http_prompt / base_prompt):+.1f} %")
    print(f"grammar-constrained / free text over HTTP: {100 * grammar_http / http_gen:.0f} %   (target >= 80 %)")
    print(f"grammar-constrained, Chasqui vs llama-cpp-python in-process: {grammar_http / grammar_base:.1f}x")


if __name__ == "__main__":
    main()
