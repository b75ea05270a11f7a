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


SAMPLE_PHONE = "+51900000001"
SAMPLE_MESSAGES = ["Hola", "Rosa", "Cajamarca", "Guarda una nota: regar el maíz el jueves"]


def show_sample_conversation(backend_url: str, token: str = "") -> list[dict]:
    """A new user's first exchange through POST /agent: onboarding (no model), then a request
    the model answers with an action. On a later run the contact already exists and every
    message goes to the model."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    replies = []
    print(f"\nsample conversation with {SAMPLE_PHONE} through {backend_url}/agent:", flush=True)
    for message in SAMPLE_MESSAGES:
        started = time.monotonic()
        response = requests.post(f"{backend_url}/agent", headers=headers, timeout=300,
                                 json={"phone": SAMPLE_PHONE, "message": message, "role": "consulta"})
        response.raise_for_status()
        body = response.json()
        replies.append(body)
        output = body["model_output"]
        print(f"  > {message}")
        print(f"  < {output['respuesta_chat']}   [{body['source']}, {time.monotonic() - started:.1f} s]", flush=True)
        if output["acciones"]:
            print(f"    acciones: {json.dumps(output['acciones'], ensure_ascii=False)}", flush=True)
    return replies
