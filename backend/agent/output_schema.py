"""The schema the model's answer must fit: the seed's keys, with `acciones` limited to the actions
the contact's domain plug-in registered (each with its own argument schema).

The model API compiles it into a grammar and refuses keywords a grammar cannot enforce (numeric
bounds, conditions). Those are left out of what the model is given; the orchestrator still checks
every requested action against its full schema before running it, so no bound is lost."""
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
                "properties": {name: for_generation(action.schema) for name, action in plugin.actions.items()},
                "additionalProperties": False,
            },
            "estado": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 80}},
        },
        "required": ["role", "respuesta_chat", "acciones", "estado"],
        "additionalProperties": False,
    }


# Checked after generation (jsonschema on the action's full schema), not during it.
CHECKED_AFTERWARDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                                "anyOf", "oneOf", "not", "if", "then", "else"})


def for_generation(schema: object) -> object:
    """`schema` without the keywords a grammar cannot enforce; property names are kept as data."""
    if isinstance(schema, list):
        return [for_generation(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept = {}
    for key, value in schema.items():
        if key in CHECKED_AFTERWARDS:
            continue
        if key == "properties" and isinstance(value, dict):
            kept[key] = {name: for_generation(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "required"):
            kept[key] = value
        else:
            kept[key] = for_generation(value)
    return kept
