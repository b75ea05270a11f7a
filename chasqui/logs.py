"""JSON logs, one object a line on stderr, for every service (CHASQUI_LOG_FORMAT=text for humans)."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from chasqui.env import env_str

_configured = False


def configure_logging(service: str) -> None:
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    if env_str("CHASQUI_LOG_FORMAT", "json") == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(env_str("CHASQUI_LOG_LEVEL", "INFO").upper())
    # werkzeug prints its own access lines; ours carry the same facts as JSON.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _configured = True
