"""The schema the model's answer must fit: the seed's keys, with `acciones` limited to the actions
the contact's domain plug-in registered (each with its own argument schema)."""
from __future__ import annotations

from backend.plugins.base import DomainPlugin


def output_schema(plugin: DomainPlugin) -> dict:
    return {
        "type": "object",
        "properties": {
            "role": {"type": "string", "maxLength": 40},
            "respuesta_chat": {"type": "string", "minLength": 1, "maxLength": 400},
            "acciones": {
                "type": "object",
                "properties": {name: action.schema for name, action in plugin.actions.items()},
                "additionalProperties": False,
            },
            "estado": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 80}},
        },
        "required": ["role", "respuesta_chat", "acciones", "estado"],
        "additionalProperties": False,
    }
