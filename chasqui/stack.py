"""`chasqui up`: wait for the services to be ready and show a sample exchange through them."""
from __future__ import annotations

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


def show_sample_conversation(bridge_url: str, timeout_s: float = 300) -> list[str]:
    """A new user's first exchange, typed into the simulator as a person would: through the
    bridge, the backend (onboarding needs no model) and the model for the last message. On a
    later run the contact already exists and every message goes to the model."""
    api = f"{bridge_url}/simulator/api/messages"
    replies, seen = [], 0
    print(f"\nsample conversation with {SAMPLE_PHONE} through the WhatsApp simulator ({bridge_url}/simulator/):",
          flush=True)
    for message in SAMPLE_MESSAGES:
        started = time.monotonic()
        requests.post(api, json={"phone": SAMPLE_PHONE, "text": message}, timeout=10).raise_for_status()
        reply = None
        while reply is None:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"no reply to {message!r} after {timeout_s} s")
            news = requests.get(api, params={"phone": SAMPLE_PHONE, "after": seen, "wait": 20}, timeout=30).json()
            for item in news["messages"]:
                seen = item["seq"]
                if item["from"] == "chasqui" and item["kind"] == "reply":
                    reply = item["text"]
        replies.append(reply)
        print(f"  > {message}")
        print(f"  < {reply}   [{time.monotonic() - started:.1f} s]", flush=True)
    return replies
