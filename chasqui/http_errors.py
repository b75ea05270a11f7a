"""Every failure a Chasqui service reports, as a JSON body in the OpenAI error shape
({"error": {"message", "type", "code", "param"}}), never an HTML page or a traceback."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, param: str | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.param, self.retry_after = status, code, message, param, retry_after

    def body(self) -> dict:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "code": self.code, "param": self.param}}


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message, param)


def as_api_error(problem: Exception, too_large: str | None = None) -> ApiError:
    """What a client is told of any failure (`too_large`: the message for a 413); an unexpected
    one is logged, and its details stay in the log."""
    if isinstance(problem, ApiError):
        return problem
    if isinstance(problem, HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(problem.code, "http_error")
        message = too_large if problem.code == 413 and too_large else problem.description
        return ApiError(problem.code or 500, code, message)
    log.error("unexpected error", exc_info=problem)
    return ApiError(500, "internal_error", "internal error; see the service log")


def install_json_errors(app: Flask, body_limit_hint: str) -> None:
    """Route every error of `app` through ApiError's JSON shape."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        response = jsonify(error.body())
        response.status_code = error.status
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        too_large = f"the body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes ({body_limit_hint})"
        return api_error(as_api_error(error, too_large))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        return api_error(as_api_error(error))
