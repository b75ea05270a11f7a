"""The bridge as a Flask app: the transport's routes (webhook or simulator page), /health, and the
background work — the relay's workers and the alert sender — started with it.

Run it as one process (`chasqui bridge`, or gunicorn with deploy/gunicorn/whatsapp_bridge.py and
one worker): the inbox file and the alert thread belong to one process.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, jsonify

from chasqui.http_errors import install_json_errors
from chasqui.logs import configure_logging
from whatsapp_bridge.alert_sender import AlertSender
from whatsapp_bridge.backend_client import BackendClient, BackendRefused, BackendUnavailable
from whatsapp_bridge.inbox import Inbox
from whatsapp_bridge.relay import Relay
from whatsapp_bridge.settings import BridgeSettings, check_cloud_settings, load_settings
from whatsapp_bridge.transports.base import Transport

log = logging.getLogger("whatsapp_bridge")


def build_transport(settings: BridgeSettings) -> Transport:
    if settings.transport == "cloud":
        from whatsapp_bridge.transports.cloud import CloudTransport
        check_cloud_settings(settings)
        return CloudTransport(settings)
    if settings.transport == "web":
        from whatsapp_bridge.transports.web import WebTransport
        return WebTransport(settings.web_session_dir, max_audio_bytes=settings.max_audio_bytes)
    from whatsapp_bridge.transports.simulator import SimulatorTransport
    return SimulatorTransport(max_audio_bytes=settings.max_audio_bytes)


class Bridge:
    """Everything the bridge runs, so that tests and `chasqui up` can start and stop it as one."""

    def __init__(self, settings: BridgeSettings, transport: Transport):
        self.settings, self.transport = settings, transport
        self.inbox = Inbox(settings.state_path)
        self.backend = BackendClient(settings.backend_url, settings.backend_token, settings.backend_timeout_s,
                                     settings.speech_timeout_s, settings.channel)
        self.relay = Relay(self.inbox, self.backend, transport, settings.relay_workers, settings.holding_after_s,
                           settings.retry_every_s)
        self.alerts = AlertSender(self.backend, transport, self.inbox, settings.alert_batch, settings.alert_poll_s,
                                  settings.alert_long_poll_s, settings.alert_template)
        self._status_reports = ThreadPoolExecutor(max_workers=2, thread_name_prefix="status")

    def start(self) -> None:
        self.transport.start(self.relay.receive, self._on_status)
        self.relay.start()
        self.alerts.start()

    def stop(self) -> None:
        self.alerts.stop()
        self.relay.stop()
        self.transport.stop()
        self._status_reports.shutdown(wait=False, cancel_futures=True)

    def _on_status(self, provider_message_id: str, status: str, error: str | None) -> None:
        # Off the webhook's thread: Meta wants its 200 fast, and the backend may be slow.
        self._status_reports.submit(self._report_status, provider_message_id, status, error)

    def _report_status(self, provider_message_id: str, status: str, error: str | None) -> None:
        try:
            self.backend.alert_delivery(provider_message_id, status, error)
        except (BackendUnavailable, BackendRefused) as problem:
            log.warning("delivery status not recorded", extra={"provider_message_id": provider_message_id, "error": str(problem)})


def create_app(settings: BridgeSettings | None = None, transport: Transport | None = None,
               start: bool = True) -> Flask:
    configure_logging("whatsapp_bridge")
    settings = settings or load_settings()
    transport = transport or build_transport(settings)
    bridge = Bridge(settings, transport)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["chasqui_bridge"] = bridge
    install_json_errors(app, "the bridge's body limit")
    routes = transport.blueprint()
    if routes is not None:
        app.register_blueprint(routes)

    @app.get("/health")
    def health():
        transport_health = transport.health()
        backend_ok = bridge.backend.health()
        status = "ok" if transport_health.get("ok") and backend_ok else "degraded"
        return jsonify({"status": status, "transport": transport_health,
                        "backend": "ready" if backend_ok else "unreachable",
                        "inbox": bridge.inbox.counts(),
                        "alerts": {"sent": bridge.alerts.sent, "failed": bridge.alerts.failed,
                                   "handed_back": bridge.alerts.released,
                                   "reported_after_restart": bridge.alerts.recovered}})

    if start:
        bridge.start()
    return app
