"""The `cloud` transport: WhatsApp Business Cloud API webhooks in, Graph API sends out.

GET /webhook answers Meta's verification handshake; POST /webhook checks the signature before
reading a byte of the payload (403 when it does not match), answers 400 to a malformed payload
and 200 to everything else at once, handing messages to the relay and status updates to the
alert bookkeeping. A voice note's audio is fetched later, from the relay's worker (cloud_media.py).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from chasqui.http_errors import ApiError, bad_request
from chasqui.http_input import InvalidJson, loads_strict
from whatsapp_bridge.media import AudioFile
from whatsapp_bridge.messages import Outbound
from whatsapp_bridge.settings import BridgeSettings
from whatsapp_bridge.transports.base import OnMessage, OnStatus
from whatsapp_bridge.transports.cloud_api import CloudAPI
from whatsapp_bridge.transports.cloud_media import CloudMedia
from whatsapp_bridge.transports.cloud_webhook import MalformedPayload, parse_payload, signature_matches

log = logging.getLogger(__name__)


class CloudTransport:
    name = "cloud"

    def __init__(self, settings: BridgeSettings):
        self.app_secret = settings.whatsapp_app_secret
        self.phone_number_id = settings.whatsapp_phone_number_id
        self.verify_token = settings.whatsapp_verify_token
        self.api = CloudAPI(settings.graph_api_url, settings.graph_api_version, settings.whatsapp_phone_number_id,
                            settings.whatsapp_access_token, settings.sends_per_second)
        self.media = CloudMedia(settings.graph_api_url, settings.graph_api_version, settings.whatsapp_access_token,
                                settings.max_audio_bytes)
        self._on_message: OnMessage | None = None
        self._on_status: OnStatus | None = None
        self.webhooks_refused = 0

    def start(self, on_message: OnMessage, on_status: OnStatus) -> None:
        self._on_message, self._on_status = on_message, on_status

    def stop(self) -> None:
        pass

    def send(self, message: Outbound) -> str:
        return self.api.send(message)

    def fetch_audio(self, inbound_message_id: str, media: dict) -> AudioFile:
        return self.media.fetch_audio(media.get("media_id"), media.get("mime_type"))

    def show_typing(self, phone: str, inbound_message_id: str | None) -> None:
        if inbound_message_id:
            self.api.mark_read_and_typing(inbound_message_id)

    def stop_typing(self, phone: str) -> None:
        pass  # the Cloud API has no call for it: "typing…" ends by itself after 25 s

    def health(self) -> dict:
        return {"ok": True, "transport": self.name, "webhooks_refused": self.webhooks_refused}

    def blueprint(self) -> Blueprint:
        webhook = Blueprint("cloud_webhook", __name__)

        @webhook.get("/webhook")
        def verify():
            if request.args.get("hub.mode") == "subscribe" and request.args.get("hub.verify_token") == self.verify_token:
                return Response(request.args.get("hub.challenge", ""), mimetype="text/plain")
            raise ApiError(403, "verification_failed", "hub.mode or hub.verify_token does not match")

        @webhook.post("/webhook")
        def receive():
            raw = request.get_data(cache=False)
            if not signature_matches(raw, request.headers.get("X-Hub-Signature-256"), self.app_secret):
                self.webhooks_refused += 1
                log.warning("webhook refused: bad or missing signature", extra={"remote": request.remote_addr})
                raise ApiError(403, "invalid_signature", "X-Hub-Signature-256 is missing or does not match")
            try:
                payload = parse_payload(loads_strict(raw, check_text=False), self.phone_number_id)
            except (InvalidJson, MalformedPayload) as problem:
                log.warning("malformed webhook payload", extra={"error": str(problem), "body": raw[:500].decode(errors="replace")})
                raise bad_request(f"malformed webhook payload: {problem}") from None
            for problem in payload.problems:  # acknowledged: Meta would send a refused body again and again
                log.warning("webhook part ignored", extra={"error": problem, "body": raw[:500].decode(errors="replace")})
            for message in payload.messages:
                self._on_message(message)
            for status in payload.statuses:
                self._on_status(status.provider_message_id, status.status, status.error)
            answer = {"received": len(payload.messages), "statuses": len(payload.statuses),
                      "ignored": len(payload.problems)}
            if payload.other_numbers:
                log.info("webhook changes for another business number left to its bridge",
                         extra={"changes": payload.other_numbers})
                answer["other_numbers"] = payload.other_numbers
            return jsonify(answer)

        return webhook
