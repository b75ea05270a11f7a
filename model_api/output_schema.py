"""The seed's reply shape: what `/chat` constrains the model to when a request brings no schema.

Strings are bounded so a small model that starts repeating itself still closes the JSON within
the seed's 300-token budget; the backend passes tighter schemas with its registered actions.
"""
from __future__ import annotations

SEED_OUTPUT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "maxLength": 40},
        "respuesta_chat": {"type": "string", "minLength": 1, "maxLength": 400},
        "acciones": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 80}},
        "estado": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 80}},
    },
    "required": ["role", "respuesta_chat", "acciones", "estado"],
    "additionalProperties": False,
}
