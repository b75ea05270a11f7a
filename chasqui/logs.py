"""JSON logs, one object a line on stderr, for every service (CHASQUI_LOG_FORMAT=text for humans).
CHASQUI_LOG_FILE sends them to that file instead, errors still also to stderr: `./dev up` in a
terminal does so, so the sample conversation is not buried under request lines."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from chasqui.env import env_str

_configured = False


def configure_logging(service: str) -> None:
    global _configured
    if _configured:
        return
    if env_str("CHASQUI_LOG_FORMAT", "json") == "text":
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                  rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                                  static_fields={"service": service})
    handlers = [logging.StreamHandler(sys.stderr)]
    log_file = env_str("CHASQUI_LOG_FILE")
    if log_file:
        Path(log_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
        handlers[0].setLevel(logging.ERROR)
        handlers.append(logging.FileHandler(Path(log_file).expanduser(), encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(env_str("CHASQUI_LOG_LEVEL", "INFO").upper())
    # werkzeug prints its own access lines; ours carry the same facts as JSON.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _configured = True
