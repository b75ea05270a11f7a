"""JSON schema -> GBNF grammar, with one fix over llama-cpp-python's converter.

Its `char` rule is `[^"\\]`, which admits raw control characters (a bare newline) inside JSON
strings, so a "schema-constrained" answer could still fail json.loads. llama.cpp's own converter
excludes them; we put that rule back.
"""
from __future__ import annotations

import json
import re

from llama_cpp import llama_grammar

JSON_OBJECT_GBNF = llama_grammar.JSON_GBNF  # any JSON object; its string rule is already strict

_LOOSE_CHAR_RULE = re.compile(r"^char ::= .*$", re.MULTILINE)
_STRICT_CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'


# Keywords the converter silently ignores: accepting them would promise a constraint that the
# grammar does not enforce, so such schemas are refused instead.
UNENFORCEABLE_KEYWORDS = frozenset({
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minProperties", "maxProperties", "uniqueItems", "contains", "minContains", "maxContains",
    "not", "if", "then", "else", "dependentRequired", "dependentSchemas", "patternProperties",
    "propertyNames",
})


class UnenforceableSchema(ValueError):
    pass


def _unenforceable(schema: object, where: str = "") -> list[str]:
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            path = f"{where}.{key}" if where else key
            if key in UNENFORCEABLE_KEYWORDS:
                found.append(path)
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                for name, sub in value.items():  # property names are data, not keywords
                    found += _unenforceable(sub, f"{path}.{name}")
            elif key not in ("enum", "const", "default", "examples"):
                found += _unenforceable(value, path)
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += _unenforceable(item, f"{where}[{index}]")
    return found


def schema_to_gbnf(schema: dict) -> str:
    """Raises UnenforceableSchema, or the converter's own errors, for a schema it cannot express."""
    if unsupported := _unenforceable(schema):
        raise UnenforceableSchema(
            "these schema keywords cannot be enforced while generating: " + ", ".join(unsupported)
            + " (use enum or const for a fixed set of values)")
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    return _LOOSE_CHAR_RULE.sub(lambda _: _STRICT_CHAR_RULE, grammar)
