"""`chasqui up`: wait for the services to be ready and show a sample exchange through them."""
from __future__ import annotations

import json
import time

import requests

SAMPLE_CONTEXT = {
    "usuario": {"nombre": "Rosa", "cultivo": "maíz"},
    "hechos": {"proximo_riego": "jueves 26 de noviembre", "lamina_mm": 28},
    "mensaje": "Hola, ¿cuándo riego mi maíz?",
}


def wait_until_ready(base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.get(f"{base_url}/health", timeout=5)
            body = response.json()
            if body.get("ready"):
                print(f"model {body['model']} ready ({body['quantization']}, context {body['context_size']})",
                      flush=True)
                return
            if body.get("status") == "failed":
                raise RuntimeError(f"the model failed to load: {body.get('error')}")
            last = body.get("status", last)
        except requests.RequestException as problem:
            last = str(problem)
        time.sleep(0.5)
    raise TimeoutError(f"the model API at {base_url} was not ready after {timeout_s} s ({last})")


def show_sample_conversation(base_url: str, token: str = "") -> dict:
    from model_api.warm_up import default_system_prompt

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    print(f"\nsample request  > {SAMPLE_CONTEXT['mensaje']}", flush=True)
    response = requests.post(f"{base_url}/chat", headers=headers, timeout=300, json={
        "system": default_system_prompt(), "context": SAMPLE_CONTEXT, "max_tokens": 300, "temperature": 0})
    response.raise_for_status()
    body = response.json()
    reply = json.loads(body["content"])
    print(f"sample reply    < {reply['respuesta_chat']}")
    print(f"model_output    : {json.dumps(reply, ensure_ascii=False)}")
    timings = body["timings"]
    print(f"timings         : prompt {timings['prompt_ms']:.0f} ms, generation {timings['generation_ms']:.0f} ms "
          f"({timings['generation_tokens_per_second']:.1f} tokens/s), "
          f"{body['usage']['prompt_tokens_details']['cached_tokens']} prompt tokens reused", flush=True)
    return body
