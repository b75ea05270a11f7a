"""HTTP routes for alerts: admins create them, bridges poll, send and report back.

The seed's contracts, extended compatibly: `GET /alerts/pending` keeps {id, phone, message, level}
and adds the lease token and attempts; `POST /alerts/<id>/sent` still works with an empty body.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from flask import Blueprint, Response, jsonify, request

from backend.alerts import repository
from backend.alerts.repository import (AlertAlreadySent, AlertNotFound, ContactNotFound, InvalidAlert,
                                       LeaseMismatch)
from backend.alerts import long_poll
from backend.http_input import json_object, optional_channel, optional_string, required_phone, required_string
from backend.settings import BackendSettings
from backend.store.database import IntegrityError, Store
from chasqui.http_errors import ApiError, bad_request

DEFAULT_POLL_LIMIT = 20
MAX_POLL_LIMIT = 100
NO_REASON_GIVEN = "the bridge gave no reason"
_DECIMAL = re.compile(r"[0-9]{1,10}(\.[0-9]{1,10})?([eE][-+]?[0-9]{1,3})?")  # as the bridge writes it ({:g})


def create_alerts_blueprint(store: Store, settings: BackendSettings) -> Blueprint:
    alerts = Blueprint("alerts", __name__)

    @alerts.post("/alert")
    def create():
        body = json_object(required=True)
        message = body.get("message")
        level = "media" if body.get("level") is None else body["level"]
        if ("phone" in body) == ("filter" in body):
            raise bad_request("send either 'phone' (one contact) or 'filter' (a group), not both or neither",
                              "phone")
        if "phone" in body:
            alert_ids, broadcast = [_alert_one(store, body, message, level)], None
        else:
            broadcast, alert_ids = _broadcast(store, body["filter"], message, level)
        long_poll.alerts_created()
        return jsonify({"alert_ids": alert_ids, "broadcast": broadcast}), 201

    @alerts.get("/alerts/pending")
    def pending():
        limit = _poll_limit(request.args.get("limit"))
        wait_s = _wait_seconds(request.args.get("wait"))
        channel = optional_channel(request.args.get("channel"))
        claimed = long_poll.claim_waiting(store.db, wait_s, lambda: repository.claim_due(
            store.db, limit, settings.alert_lease_s, settings.alert_max_attempts, channel))
        return jsonify({"alerts": claimed})

    @alerts.post("/alerts/<int:alert_id>/sent")
    def sent(alert_id: int):
        body = json_object(required=False)
        provider_message_id = optional_string(body, "provider_message_id")
        with _report_errors():
            alert = repository.mark_sent(store.db, alert_id, _lease_token(body), provider_message_id)
        return jsonify({"id": alert["id"], "status": alert["status"]})

    @alerts.get("/alerts/<int:alert_id>/image")
    def image(alert_id: int):
        with _report_errors():
            return Response(repository.alert_image(store.db, alert_id), mimetype="image/png")

    @alerts.get("/alerts/<int:alert_id>/document")
    def document(alert_id: int):
        with _report_errors():
            name, mime_type, data = repository.alert_document(store.db, alert_id)
        return Response(data, mimetype=mime_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @alerts.post("/alerts/<int:alert_id>/release")
    def release(alert_id: int):
        body = json_object(required=False)
        with _report_errors():
            alert = repository.release(store.db, alert_id, _lease_token(body))
        long_poll.alerts_created()  # due again: a waiting bridge may take it now
        return jsonify({"id": alert["id"], "status": alert["status"]})

    @alerts.post("/alerts/delivery")
    def delivery():
        """A provider's later report (delivered, read, failed) on an alert it accepted."""
        body = json_object(required=True)
        provider_message_id = required_string(body, "provider_message_id")
        with _invalid_input(), _report_errors():
            alert = repository.record_delivery(store.db, provider_message_id, body.get("status"),
                                               optional_string(body, "error"))
        return jsonify({"id": alert["id"], "delivery_status": alert["delivery_status"]})

    @alerts.post("/alerts/<int:alert_id>/failed")
    def failed(alert_id: int):
        body = json_object(required=False)
        error = _failure_reason(body)
        with _report_errors():
            alert = repository.mark_failed(store.db, alert_id, error, settings.alert_backoff_s,
                                           settings.alert_max_attempts, _lease_token(body))
        return jsonify({key: alert[key] for key in ("id", "status", "attempts", "next_attempt_at")})

    return alerts


def _alert_one(store: Store, body: dict, message: object, level: object) -> int:
    phone = required_phone(body)
    with _invalid_input():
        repository.validate_content(message, level)  # before the lookup: bad input is 400, not 404
    contact_id = repository.contact_id_for_phone(store.db, phone)
    if contact_id is None:
        raise ApiError(404, "unknown_contact", f"no contact with phone {phone}", "phone")
    with _report_errors():  # the contact may be deleted between the lookup and the insert
        return repository.create_alert(store.db, contact_id, message, level)


def _broadcast(store: Store, group_filter: object, message: object, level: object) -> tuple[str, list[int]]:
    if not isinstance(group_filter, dict):
        raise bad_request("'filter' must be an object, e.g. {\"domain\": \"agro\", \"crop\": \"maíz\"}", "filter")
    profile_filters = {key: value for key, value in group_filter.items() if key != "domain"}
    with _invalid_input(prefix="filter."):
        return repository.create_broadcast(store.db, message, level, group_filter.get("domain"), profile_filters)


@contextmanager
def _invalid_input(prefix: str = "") -> Iterator[None]:
    """InvalidAlert -> 400 naming the field; fields inside the filter are named filter.<key>."""
    try:
        yield
    except InvalidAlert as problem:
        field = problem.field if problem.field in ("message", "level") else prefix + problem.field
        raise bad_request(str(problem), field) from None


@contextmanager
def _report_errors() -> Iterator[None]:
    """The repository's refusals as HTTP answers a bridge can act on."""
    try:
        yield
    except AlertNotFound as problem:
        raise ApiError(404, "alert_not_found", str(problem)) from None
    except ContactNotFound as problem:
        raise ApiError(404, "unknown_contact", str(problem)) from None
    except LeaseMismatch as problem:
        raise ApiError(409, "lease_mismatch", str(problem), "lease_token") from None
    except AlertAlreadySent as problem:
        raise ApiError(409, "alert_already_sent", str(problem)) from None
    except OverflowError:  # /alerts/99999999999999999999/sent: no SQLite id is that large
        raise ApiError(404, "alert_not_found", "no alert has that id (alert ids fit in 64 bits)") from None
    except IntegrityError as problem:
        if "provider_message_id" not in str(problem):
            raise
        raise ApiError(409, "provider_message_id_taken", "another alert was already sent as that provider message",
                       "provider_message_id") from None


def _failure_reason(body: dict) -> str:
    error = body.get("error")
    if error is None or error == "":
        return NO_REASON_GIVEN  # a failure is still recorded (and retried) when unexplained
    if not isinstance(error, str):
        raise bad_request("'error' must be a string", "error")
    return error


def _lease_token(body: dict) -> str | None:
    return optional_string(body, "lease_token")


def _wait_seconds(raw: str | None) -> float:
    if raw is None or raw == "":
        return 0.0
    # Plain ASCII decimals: float() also takes "٣", "1_0", " 5 " and "nan".
    wait_s = float(raw) if _DECIMAL.fullmatch(raw) else -1.0
    if not 0 <= wait_s <= long_poll.MAX_WAIT_S:
        raise bad_request(f"'wait' must be a number of seconds from 0 to {long_poll.MAX_WAIT_S:.0f}, got {raw!r}",
                          "wait")
    return wait_s


def _poll_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_POLL_LIMIT
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0  # int() takes "１２" and "1_0"
    if not 1 <= limit <= MAX_POLL_LIMIT:
        raise bad_request(f"'limit' must be a whole number from 1 to {MAX_POLL_LIMIT}, got {raw!r}", "limit")
    return limit
