"""Generators of bad input for every HTTP service, shared by the robustness tests.

Bodies are built as JSON *text*: `Raw` pieces go in verbatim, so a body can hold what no JSON
library writes (NaN, 1e999, a number of 400 digits, a lone surrogate escape, 200 levels of
brackets) next to ordinary values. `mutated()` takes a valid body the existing tests use and
breaks exactly one thing in it, which is where most real bugs hide: everything else passes the
checks, and the one bad field reaches the code behind them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, settings, strategies as st

CI, BENCH = "ci", "bench"
# Requests are slow next to hypothesis's usual functions, and some bodies are large on purpose.
SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def examples(scale: float = 1.0) -> int:
    """This test's number of examples: the active profile's (ci unless --hypothesis-profile=bench),
    scaled for tests whose examples cost more than one request."""
    name = settings.get_current_profile_name()
    profile = settings.get_profile(name if name in (CI, BENCH) else CI)
    return max(5, int(profile.max_examples * scale))


class Raw(str):
    """JSON text put into a body as it is."""


def dumps(value: Any) -> str:
    """JSON text of `value`, with Raw pieces verbatim. ensure_ascii: a lone surrogate in a Python
    string becomes the escape "\\ud800", as a client written in JavaScript would send it."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)  # NaN and Infinity come out as the bare words: bad JSON on purpose


def body_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")


# -- single bad values ---------------------------------------------------------------------------

NON_ASCII_DIGITS = ["፩", "１２", "٣٤", "०९", "²", "①", "𝟙𝟚"]  # str.isdigit() says yes to most; int() to some
IMPOSSIBLE_DATES = ["2026-13-45", "2026-02-30", "0000-00-00", "9999-12-31", "0001-01-01", "2026-1-1",
                    "31/02/2026", "2026-02-29T25:61", "２０２６-０１-０１"]
SURROGATES = ["\ud800", "a\udfffb", "\udc00" * 3, "\ud83d"]  # halves of a pair, alone
HUGE_NUMBERS = [2 ** 63, 2 ** 63 - 1, 2 ** 64, -(2 ** 63) - 1, 10 ** 19, 10 ** 29, 1e308, -1e308, 1.7976931348623157e308]
TEXTS = ["", " ", "\t\n", "\x00", "a\x00b", "\u202eabc", "😀" * 20, "<script>alert(1)</script>",
         "'; DROP TABLE contacts; --", "%s%n{0}", "hace 99999999 años", "hace -3 días", "mañana hace 5 años",
         "99999999999999999999", "-1", "1e999", "NaN", "Infinity", "null", "true", "[]", "{}", "x" * 5000,
         "ñ" * 300, "\r\n" * 50, "0x1F", "1_000", " 12 ", "+51 987 654 321", "51987654321@c.us",
         "hola\u0301", "\ufeffhola", "\U0010ffff"]
SCALARS = [None, True, False, 0, -1, -0.0, 0.5, 1.5, -7, 5e-324, *HUGE_NUMBERS,
           float("nan"), float("inf"), float("-inf"), *TEXTS, *NON_ASCII_DIGITS, *IMPOSSIBLE_DATES, *SURROGATES]
# What only hand-written JSON text can hold.
RAW_TOKENS = [Raw("NaN"), Raw("-Infinity"), Raw("1e999"), Raw("-1e999"), Raw("1" + "0" * 400), Raw("-" + "9" * 40),
              Raw("0." + "0" * 50 + "1"), Raw("1e-999"), Raw('"\\ud800"'), Raw('"x\\udc00y"'), Raw('"\\u0000"'),
              Raw("[" * 200 + "]" * 200), Raw('{"a":' * 40 + "1" + "}" * 40), Raw("[" + ",".join(["0"] * 3000) + "]")]


def bad_values() -> st.SearchStrategy:
    """One value that does not belong where it is put: wrong type, out of range, not a number,
    not text, not a date, too long, too deep."""
    small_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                           max_size=3), max_leaves=6)
    return st.one_of(
        st.sampled_from(SCALARS),
        st.sampled_from(RAW_TOKENS),
        st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(st.characters(codec=None, categories=("Cs", "Nd", "No", "Zs", "Cc", "Lo")), max_size=12),
        st.text(max_size=30),
        st.lists(st.sampled_from(SCALARS[:12]), max_size=3),
        st.just({}), st.just([]),
        small_json,
    )


# -- whole bodies ---------------------------------------------------------------------------------

MALFORMED_BODIES = [b"", b" ", b"{", b'{"phone": ', b"[1, 2", b"nul", b"{'a': 1}", b'{"a": 1,}', b"\xff\xfe\x00",
                    b"\xef\xbb\xbf{}", '{"a": "ñ"}'.encode("utf-16"), b"{}garbage", b"//c\n{}", b'{"a":"\x01"}',
                    b"\x00", b'{"a": 1} {"b": 2}', b'{"a": "\\x41"}', b'{"a": "\\ud800"}', b'{"a": NaN}',
                    b'{"a": Infinity}', b'{"a": 1e999}', b'{"a": 1' + b"0" * 5000 + b"}", b"[" * 1500 + b"]" * 1500,
                    b'{"a":' * 1000 + b"1" + b"}" * 1000, b'{"a": "' + b"x" * 1_100_000 + b'"}', b"\xc3\x28", b"\xed\xa0\x80"]


def any_json() -> st.SearchStrategy:
    return st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=4), max_leaves=12)


def bad_bodies() -> st.SearchStrategy[bytes]:
    """Any body but a good one: malformed JSON, JSON that Python parses and nothing can use, JSON of
    the wrong shape (an array, a string, an empty object), or bytes."""
    return st.one_of(
        st.sampled_from(MALFORMED_BODIES),
        bad_values().map(body_bytes),
        any_json().map(body_bytes),
        st.dictionaries(st.sampled_from(["phone", "message", "form", "data", "filter", "level", "lease_token",
                                         "system", "context", "messages", "schema", "max_tokens", "object", "entry",
                                         "text", "provider_message_id", "status", "lote"]),
                        bad_values(), max_size=4).map(body_bytes),
        st.binary(max_size=64),
    )


# -- one thing broken in a valid body -------------------------------------------------------------

@dataclass(frozen=True)
class Mutation:
    """What was broken: `path` is the list of keys/indexes down to it, `kind` how."""
    path: tuple
    kind: str  # replaced, removed, added, wrapped
    value: Any = None

    @property
    def field(self) -> str | None:
        """The top-level field the mutation is in (what a refusal should name), if any."""
        return str(self.path[0]) if self.path else None

    def describe(self) -> str:
        where = "/".join(str(p) for p in self.path) or "(the body)"
        shown = repr(self.value)
        return f"{self.kind} {where}" + (f" -> {shown[:80]}" if self.kind in ("replaced", "added") else "")


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value, the value itself first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, prefix + (index,))
    return found


def _apply(value: Any, path: tuple, change) -> Any:
    if not path:
        return change(value)
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _apply(value[path[0]], path[1:], change)
    return copy


def _remove(value: Any, path: tuple) -> Any:
    parent = _apply(value, path[:-1], lambda node: dict(node) if isinstance(node, dict) else list(node))
    holder = parent
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return parent


@st.composite
def mutated(draw, valid: Any, keep: frozenset = frozenset()) -> tuple[Any, Mutation]:
    """`valid` with one thing broken. Paths whose first key is in `keep` stay as they are (a test
    that must reach the code behind the token keeps the token valid)."""
    places = [p for p in paths(valid) if not (p and p[0] in keep)]
    path = draw(st.sampled_from(places))
    kind = draw(st.sampled_from(["replaced", "replaced", "replaced", "removed", "added", "wrapped"]))
    if kind == "removed" and path:
        return _remove(valid, path), Mutation(path, kind)
    if kind == "added":
        target = _apply(valid, (), lambda node: node)
        holder_path = path if isinstance(_get(valid, path), dict) else path[:-1]
        key = draw(st.sampled_from(["extra", "phone", "__proto__", "id", "", "ñ", "\ud800", "a" * 300]))
        value = draw(bad_values())
        if isinstance(_get(target, holder_path), dict):
            return _apply(target, holder_path, lambda node: {**node, key: value}), Mutation(holder_path + (key,), kind,
                                                                                          value)
    if kind == "wrapped":  # an array where an object (or a scalar) was expected
        return _apply(valid, path, lambda node: [node]), Mutation(path, kind)
    value = draw(bad_values())
    return _apply(valid, path, lambda node: value), Mutation(path, "replaced", value)


def _get(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


# -- headers, query strings, path parameters ------------------------------------------------------

CONTENT_TYPES = [None, "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                 "application/json; charset=utf-16", "application/json; charset=bogus", "application/xml",
                 "image/png", "application/json; boundary=\"", "*/*", ""]
# Content-Length values sent in place of the real one (the body stays as it is).
CONTENT_LENGTHS = [None, None, None, "99999999999999999999", str(2 ** 63), "-1", "abc", "", "0", "1", "1e3",
                   "65536", "１２"]


def bogus_authorizations(token: str) -> list[str | None]:
    return [None, "", "Bearer", "Bearer ", "Bearer wrong", f"Basic {token}", f"bearer{token}", f"Bearer {token}x",
            f"Bearer {token[:-1]}", "Bearer " + "a" * 8000, f"Bearer  {token} extra", "Bearer ñandú",
            f"Token {token}", "Bearer \x7f"]


@st.composite
def headers(draw, token: str, valid_auth_share: float = 0.7) -> tuple[dict, dict]:
    """(headers, WSGI environ overrides): a content type right or wrong, the bearer token mostly
    right (so the body is read), sometimes bogus, and sometimes a Content-Length that lies."""
    found, environ = {}, {}
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        found["Content-Type"] = content_type
    if draw(st.floats(0, 1)) < valid_auth_share:
        found["Authorization"] = f"Bearer {token}"
    else:
        auth = draw(st.sampled_from(bogus_authorizations(token)))
        if auth is not None:
            found["Authorization"] = auth
    length = draw(st.sampled_from(CONTENT_LENGTHS))
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    return found, environ


BAD_QUERY_VALUES = ["-1", "0", "abc", "1e999", "NaN", "nan", "inf", "-inf", "1.5", "", " ", " 1", "٣", "１２", "፩",
                    "9" * 30, str(2 ** 63), "0x10", "1_0", "%00", "\ud800", "+51987654321", "ñandú", "x" * 3000,
                    "[1]", "{}", "null", "true", "2026-13-45"]


def query_value() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(BAD_QUERY_VALUES), st.text(max_size=12),
                     st.integers(-(2 ** 70), 2 ** 70).map(str))


def encode_query(pairs: list[tuple[str, str]]) -> str:
    """A query string; text that UTF-8 cannot encode (a lone surrogate) goes as the bytes a broken
    client would send, and '%zz'-style junk is kept as written."""
    def part(text: str) -> str:
        if text in ("%00", "%zz", "%ff"):
            return text
        return quote(text.encode("utf-8", "surrogatepass"), safe="")
    return "&".join(f"{part(k)}={part(v)}" for k, v in pairs)


PATH_IDS = ["0", "1", "2", "-1", str(2 ** 63), str(2 ** 63 - 1), str(2 ** 64), "9" * 30, "abc", "١٢", "１２", "፩",
            "1.5", "0x1", " 1", "%F0%9F%98%80", "%00", "1%2F2", "00000000000000000000001", "1e3"]


def path_id() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(PATH_IDS), st.integers(-(2 ** 70), 2 ** 70).map(str), st.text(max_size=6))


def encode_path_part(text: str) -> str:
    if "%" in text:
        return text  # already percent-encoded on purpose
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def route_path(rule: str, values: dict[str, str]) -> str:
    """A werkzeug rule ('/alerts/<int:alert_id>/sent') with each parameter replaced by its value."""
    path = rule
    for name, value in values.items():
        start = path.index("<")
        end = path.index(">", start)
        assert path[start:end + 1].split(":")[-1].rstrip(">") == name
        path = path[:start] + encode_path_part(value) + path[end + 1:]
    return path


def form_value() -> st.SearchStrategy[str]:
    """A bad value for an HTML form field (always text: forms carry nothing else)."""
    return st.one_of(st.sampled_from([t for t in TEXTS + NON_ASCII_DIGITS + IMPOSSIBLE_DATES]),
                     st.sampled_from([str(n) for n in HUGE_NUMBERS] + ["-1", "0", "nan", "\ud800"]),
                     st.text(max_size=30), st.text(st.characters(categories=("Nd", "No", "Zs", "Cc")), max_size=8))
