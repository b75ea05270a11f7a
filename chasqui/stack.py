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


def sample_messages(plugins: dict, already_onboarded: bool = False) -> list[str]:
    """A new user of the first plug-in: its demo, a first conversation as people write it (the
    first message picks the domain). A plug-in whose onboarding asks a name is greeted and named
    first. On a later run (the database is kept) the sample user is known: only the demo's last
    message is sent, since onboarding answers sent to an onboarded user would only puzzle the model."""
    first = next(iter(plugins.values()))
    if already_onboarded:
        return first.demo[-1:]
    if not first.asks_name:
        return list(first.demo)
    return ["Hola"] + ([first.label] if len(plugins) > 1 else []) + ["Rosa"] + first.demo


def sample_user_onboarded(db_path: str) -> bool:
    from backend.contacts import find_contact
    from backend.store.database import open_database

    db = open_database(db_path)
    try:
        contact = find_contact(db, SAMPLE_PHONE)
    finally:
        db.close()
    return contact is not None and contact.domain is not None and contact.onboarded


def show_sample_conversation(bridge_url: str, messages: list[str], timeout_s: float = 300) -> list[str]:
    """A new user's first exchange, typed into the simulator as a person would: through the
    bridge, the backend (onboarding needs no model) and the model for the last messages."""
    api = f"{bridge_url}/simulator/api/messages"
    replies, seen = [], 0
    print(f"\nsample conversation with {SAMPLE_PHONE} through the WhatsApp simulator ({bridge_url}/simulator/):",
          flush=True)
    for message in messages:
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
