"""Alerts from the backend's queue to the phones.

One thread claims alerts (a batch at a time, each under a lease), sends each through the
transport and reports `sent` only once the provider has accepted it, or `failed` with the
provider's reason. What it holds is also written to its own file (alert_claims.py): the provider's
id the moment the provider accepts, so a restarted bridge reports what the phone already has and
hands back the rest at once, instead of waiting for the leases to run out. The fast path is
long-polling: `GET /alerts/pending?wait=N` returns as soon as an alert is due, so an urgent one
reaches the phone in about a second; when long-polling is off (ALERT_LONG_POLL_SECONDS=0) or the
backend does not offer it, the seed's plain polling every `poll_s` takes over. Nothing is lost
either way: an alert whose bridge never comes back is handed out again when its lease expires.

Outside WhatsApp's 24-hour window a user can only be reached with an approved template, so
such alerts go out as WHATSAPP_ALERT_TEMPLATE with the alert's text as its parameter.

The queue hands out more than alerts (docs/officers_desk.md): each item's "kind" is `alert`
(absent from older backends), `reply` (an officer's, written in the panel), `notice` (a person
attends now / the bot is back) or `document` (a file, e.g. a user's data export, fetched from the
backend and sent as a WhatsApp document with the message as its caption). All are sent,
reported and tracked the same way.
"""
from __future__ import annotations

import logging
import threading

from whatsapp_bridge.alert_claims import AlertClaims
from whatsapp_bridge.backend_client import BackendClient, BackendRefused, BackendUnavailable
from whatsapp_bridge.inbox import Inbox
from whatsapp_bridge.messages import Outbound, SendFailed, Template
from whatsapp_bridge.transports.base import Transport

log = logging.getLogger(__name__)

REPORT_TRIES = 3
# The queue's kinds, and the purpose their Outbound carries (logs, the simulator's bubbles).
PURPOSES = {"alert": "alert", "reply": "reply", "notice": "notice", "document": "document"}


class AlertSender:
    def __init__(self, backend: BackendClient, transport: Transport, inbox: Inbox, batch: int, poll_s: float,
                 long_poll_s: float, template: str = ""):
        self.backend, self.transport, self.inbox = backend, transport, inbox
        self.batch, self.poll_s, self.long_poll_s = batch, poll_s, long_poll_s
        self.template = _parse_template(template)
        self.sent = self.failed = self.released = self.recovered = 0
        self.claims = AlertClaims(inbox)
        # What the last run of this bridge left claimed and never sent: handed back first thing.
        self._left_behind = dict(self.claims.never_accepted())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)  # a long-poll in flight is abandoned: its alerts stay leased, then return

    def deliver_due(self, wait_s: float = 0.0) -> int:
        """Settle what an earlier run or a failed report left, then claim one batch and deliver
        it; the number claimed."""
        self.settle_left_behind()
        alerts = self.backend.claim_alerts(self.batch, wait_s)
        self.claims.held(alerts)
        for alert in alerts:  # handed out again meanwhile: this run holds it now
            self._left_behind.pop(alert["id"], None)
        for index, alert in enumerate(alerts):
            if self._stop.is_set():  # stopping: hand the rest back rather than leave them leased
                for unsent in alerts[index:]:
                    self._report(self.backend.alert_release, unsent["id"], unsent.get("lease_token"))
                    self.released += 1
                break
            self._deliver(alert)
        return len(alerts)

    def settle_left_behind(self) -> None:
        """Alerts the provider accepted whose report never reached the backend are reported sent;
        alerts a killed run claimed and never sent are handed back, due again at once."""
        for alert_id, lease_token, provider_id in self.claims.unreported():
            if self._report(self.backend.alert_sent, alert_id, lease_token, provider_id):
                self.recovered += 1
        for alert_id, lease_token in list(self._left_behind.items()):
            if self._report(self.backend.alert_release, alert_id, lease_token):
                del self._left_behind[alert_id]
                self.released += 1

    def _run(self) -> None:
        long_poll_s = self.long_poll_s
        while not self._stop.is_set():
            try:
                claimed = self.deliver_due(long_poll_s)
            except BackendRefused as problem:
                if long_poll_s and problem.status == 400:
                    log.warning("the backend does not offer long-polling; polling every %s s", self.poll_s)
                    long_poll_s = 0.0
                    continue
                log.error("alert poll refused", extra={"error": str(problem)})
                claimed = 0
            except BackendUnavailable as problem:
                log.warning("alert poll failed; polling again later", extra={"error": str(problem)})
                claimed = 0
                self._stop.wait(self.poll_s)
                continue
            except Exception:
                log.exception("alert delivery failed; polling again later")
                claimed = 0
            if not claimed and not long_poll_s:
                self._stop.wait(self.poll_s)

    def _deliver(self, alert: dict) -> None:
        already = self.claims.accepted_as(alert["id"])
        if already:  # handed out again while its report was failing: report it, never send it twice
            self.recovered += 1
            self._report(self.backend.alert_sent, alert["id"], alert.get("lease_token"), already)
            return
        try:
            message = self._message_for(alert)
            provider_id = self.transport.send(message)
        except SendFailed as problem:
            reason = str(problem)
            if problem.needs_template and not self.template:
                reason += " (outside the 24-hour window; set WHATSAPP_ALERT_TEMPLATE to reach this user)"
            self.failed += 1
            log.warning("alert not sent", extra={"alert": alert["id"], "error": reason})
            self._report(self.backend.alert_failed, alert["id"], alert.get("lease_token"), reason)
            return
        self.claims.accepted(alert["id"], provider_id)  # first, before anything else can fail
        self.sent += 1
        self._report(self.backend.alert_sent, alert["id"], alert.get("lease_token"), provider_id)

    def _message_for(self, alert: dict) -> Outbound:
        kind = alert.get("kind") or "alert"
        if kind not in PURPOSES:  # a newer backend's kind: its text still reaches the user
            log.warning("unknown outbound kind; sent as an alert", extra={"alert": alert["id"], "kind": kind})
            kind = "alert"
        if kind == "document":
            # Never as a template: its text without the file would tell the user of a file they never get.
            return Outbound(alert["phone"], alert.get("message") or "", purpose="document",
                            document=self._document(alert), document_name=alert.get("document_name") or "documento",
                            document_type=alert.get("document_type") or "application/octet-stream")
        template = None
        if self.template and not self.inbox.window_open(alert["phone"]):
            name, language = self.template
            template = Template(name, language, (alert["message"],))
        image = self._image(alert) if alert.get("image_url") else None
        return Outbound(alert["phone"], alert["message"], template=template, purpose=PURPOSES[kind], image=image,
                        officer=kind == "reply")

    def _document(self, alert: dict) -> bytes:
        if not alert.get("document_url"):
            raise SendFailed("a document item without its document_url")
        try:
            return self.backend.alert_document(alert["document_url"])
        except BackendUnavailable as problem:  # reported failed: the backend retries it with backoff
            raise SendFailed(f"the document could not be fetched: {problem}", retry_after=5.0) from None

    def _image(self, alert: dict) -> bytes:
        try:
            return self.backend.alert_image(alert["image_url"])
        except BackendUnavailable as problem:  # reported failed: the backend retries it with backoff
            raise SendFailed(f"the alert's image could not be fetched: {problem}", retry_after=5.0) from None

    def _report(self, call, alert_id: int, lease_token: str | None, *detail: str) -> bool:
        """True once the backend has the report (or refused it: nothing left to fix here). A
        report lost to a backend hiccup is tried again, and later again by settle_left_behind."""
        for attempt in range(REPORT_TRIES):
            try:
                call(alert_id, lease_token, *detail)
            except BackendRefused as problem:  # e.g. the lease expired meanwhile and it was handed on
                log.warning("alert report refused", extra={"alert": alert_id, "error": str(problem)})
            except BackendUnavailable as problem:
                log.warning("alert report failed", extra={"alert": alert_id, "error": str(problem)})
                if attempt + 1 == REPORT_TRIES or self._stop.wait(0.5 * 2 ** attempt):
                    return False  # no sleep after the last try: the next round tries again
                continue
            self.claims.settled(alert_id)
            return True
        return False


def _parse_template(setting: str) -> tuple[str, str] | None:
    """'chasqui_alerta' or 'chasqui_alerta:es' -> (name, language); Spanish unless told."""
    if not setting:
        return None
    name, _, language = setting.partition(":")
    return name.strip(), (language.strip() or "es")
