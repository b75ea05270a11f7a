"""Typed reads of environment variables, so every service documents and parses its
settings the same way (defaults live next to the setting, and in .env.example)."""
from __future__ import annotations

import os
from pathlib import Path


class SettingError(ValueError):
    """An environment variable holds a value the service cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_number(name: str, default, parse, kind: str, minimum=None, maximum=None):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not {kind}") from None
    if minimum is not None and value < minimum:
        raise SettingError(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise SettingError(f"{name}={value} is above the maximum {maximum}")
    return value


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    return _env_number(name, default, int, "a whole number", minimum, maximum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env_bool(name: str, default: bool = False) -> bool:
    """1/true/yes/on or 0/false/no/off; anything else is refused rather than read as "off", so a
    typo in a safety switch never silently changes what the service does."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingError(f"{name}={raw!r} must be 1 or 0")


def chasqui_home() -> Path:
    """Where downloaded models and built wheels live: outside the checkout, so a fresh clone
    on the same machine reuses them instead of downloading 500 MB again."""
    return Path(env_str("CHASQUI_HOME") or Path.home() / ".cache" / "chasqui").expanduser()
