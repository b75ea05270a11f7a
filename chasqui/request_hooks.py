"""What every Chasqui service does around each request: time it, check the bearer token (probes
excepted), log it as one JSON line, hand endpoint, status and seconds to the metrics, and mark
every response nosniff."""
from __future__ import annotations

import logging
import time
from typing import Callable

from flask import Flask, Response, g, request

from chasqui.auth import bearer_token_matches
from chasqui.http_errors import ApiError
from chasqui.security_headers import add_nosniff


def install_request_hooks(app: Flask, token: str, token_setting: str, open_prefixes: tuple[str, ...],
                          record: Callable[[str, int, float], None], logger: logging.Logger) -> None:
    @app.before_request
    def authenticate():
        g.started = time.perf_counter()
        if request.path.startswith(open_prefixes):
            return None
        if not bearer_token_matches(request.headers.get("Authorization"), token):
            raise ApiError(401, "unauthorized", f"missing or wrong bearer token ({token_setting})")
        return None

    @app.after_request
    def log_and_record(response: Response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        record(endpoint, response.status_code, elapsed)
        logger.info("request", extra={"method": request.method, "path": request.path,
                                      "status": response.status_code, "ms": round(elapsed * 1000, 1)})
        return add_nosniff(response)
