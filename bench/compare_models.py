"""Which registry model answers Spanish-speaking users better? Sends the same Spanish questions
through /chat (seed schema, temperature 0) to each model and prints the replies side by side,
with their speed. Evidence for the README's choice of default; read the answers, no score.

    .venv/bin/python bench/compare_models.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chasqui.stack import SAMPLE_CONTEXT  # noqa: E402
from model_api.catalog import DEFAULT_MODEL, TEST_MODEL  # noqa: E402
from model_api.warm_up import default_system_prompt  # noqa: E402
from tests.servers import start_model_api  # noqa: E402

CONTEXTS = [
    SAMPLE_CONTEXT,
    {"usuario": {"nombre": "Luis", "cultivo": "papa"}, "mensaje": "Vi manchas negras en las hojas de mi papa, ¿qué hago?"},
    {"usuario": {"nombre": "Ana", "objetivo": "10K"}, "hechos": {"ritmo_tempo": "5:05/km"},
     "mensaje": "¿A qué ritmo hago el tempo de mañana?"},
    {"usuario": {"nombre": "Ana"}, "mensaje": "Estoy cansada, ¿salto el entrenamiento de mañana?"},
]


def main() -> None:
    for model in (DEFAULT_MODEL, TEST_MODEL):
        api = start_model_api(Path("/tmp"), model, MODEL_N_CTX="2048", CHASQUI_LOG_LEVEL="WARNING")
        try:
            print(f"\n=== {model}")
            for context in CONTEXTS:
                body = requests.post(f"{api.url}/chat", timeout=300, json={
                    "system": default_system_prompt(), "context": context, "temperature": 0}).json()
                if "error" in body:
                    print(f"> {context['mensaje']}\n< ERROR {body['error']['code']}")
                    continue
                reply = json.loads(body["content"])["respuesta_chat"]
                speed = body["timings"]["generation_tokens_per_second"]
                print(f"> {context['mensaje']}\n< {reply}   [{speed:.0f} tok/s]")
        finally:
            api.stop()


if __name__ == "__main__":
    main()
