"""Every domain plug-in's output schema is one the real model API compiles into a grammar (it
refuses keywords it cannot enforce), while the bounds left out of it still hold."""
from __future__ import annotations

import json

import pytest
import requests

from backend.agent.output_schema import for_generation, output_schema
from backend.plugins.registry import load_plugins


def test_bounds_are_left_to_the_check_after_generation_and_names_are_kept():
    schema = {"type": "object", "properties": {"minimum": {"type": "number", "minimum": 0, "maximum": 72},
                                               "dia": {"type": "string", "enum": ["hoy", "ayer"]}},
              "required": ["minimum"], "anyOf": [{"required": ["dia"]}]}
    assert for_generation(schema) == {"type": "object", "properties": {"minimum": {"type": "number"},
                                                                       "dia": {"type": "string", "enum": ["hoy", "ayer"]}},
                                      "required": ["minimum"]}


@pytest.mark.parametrize("plugin", ["agro", "running", "example"])
def test_the_model_api_accepts_each_plugins_output_schema(small_api, plugin):
    schema = output_schema(load_plugins((plugin,))[plugin])
    response = requests.post(f"{small_api.url}/chat", timeout=120, json={
        "system": "Responde en JSON.", "context": {"mensaje": "Hola"}, "max_tokens": 120, "schema": schema})
    assert response.status_code in (200, 422), response.text  # 422: the small model ran out of tokens
    if response.status_code == 200:
        assert set(json.loads(response.json()["content"])) == {"role", "respuesta_chat", "acciones", "estado"}
