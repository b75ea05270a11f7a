"""The WhatsApp Web transport itself: a supervised neonize client behind the bridge's Transport."""
from __future__ import annotations

import base64
import ipaddress
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import requests
from flask import Blueprint, Response, jsonify, request

from whatsapp_bridge.media import MAX_AUDIO_BYTES, AudioFile, MediaUnavailable, check_audio_type, check_size, \
    checked_audio
from whatsapp_bridge.messages import BUTTON_REPLY, TEXT, Button, Inbound, Outbound, SendFailed
from whatsapp_bridge.transports.base import OnMessage, OnStatus
from whatsapp_bridge.transports.web.convert import (enum_name, inbound_from_event, jid_to_phone, match_button,
                                                    outbound_text, phone_digits, statuses_from_receipt)
from whatsapp_bridge.transports.web.session import (DB_NAME, _quiet_neonize_logs, _write_private,
                                                    acquire_session_lock, load_neonize, prepare_session_dir,
                                                    qr_png, session_is_paired)

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0
QR_STALE_S = 90.0  # each QR lasts 20-60 s; none for this long means whatsmeow gave up pairing
FIRST_PAUSE_S, LONGEST_PAUSE_S = 5.0, 60.0  # between sessions that failed to connect
IMAGE_MAX_BYTES = 16 * 1024 * 1024


def fetch_image(url: str, timeout_s: float = 20.0, max_bytes: int = IMAGE_MAX_BYTES) -> bytes:
    """The bytes behind `image_url`; SendFailed says whether trying later may help."""
    if urlparse(url).scheme not in ("http", "https"):
        raise SendFailed(f"image_url must be http(s): {url!r}")
    try:
        with requests.get(url, timeout=timeout_s, stream=True) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise SendFailed(f"image_url answered {response.status_code}", retry_after=RETRY_AFTER_S)
            if response.status_code >= 400:
                raise SendFailed(f"image_url answered {response.status_code}")
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise SendFailed(f"image_url is larger than {max_bytes} bytes")
            return bytes(body)
    except requests.RequestException as problem:
        raise SendFailed(f"image_url could not be fetched: {problem}", retry_after=RETRY_AFTER_S) from problem


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class _DaemonThread(threading.Thread):
    def __init__(self, *args, daemon=None, **kwargs):
        super().__init__(*args, daemon=True, **kwargs)


class _Gone(Exception):
    """The client was replaced or stopped while a call waited for it."""


# -- the transport ------------------------------------------------------------------------------------
class WebTransport:
    """How it runs: one supervisor thread owns the neonize client. The client's blocking `connect()`
    runs in its own thread and calls our handlers from neonize's event thread; whatsmeow reconnects
    by itself after network drops. The supervisor starts a fresh client when the QR codes ran out
    unscanned (whatsmeow stops offering them after a few minutes), when the account logged this
    device out, or when connecting failed, with a growing pause.

    Why every call into neonize holds `_go_lock` and checks the client is still current: the Go side
    keeps its clients in a plain map without a mutex, so a call racing `Stop()` can crash the whole
    process, and a call on a stopped client dereferences nil.
    """
    name = "web"

    def __init__(self, session_dir: Path, *, device_name: str = "Chasqui", proxy_url: str | None = None,
                 max_audio_bytes: int = MAX_AUDIO_BYTES):
        self.session_dir = Path(session_dir).expanduser()
        self.max_audio_bytes = max_audio_bytes
        self.db_path = self.session_dir / DB_NAME
        self.device_name = device_name  # shown in the phone's list of linked devices
        self.proxy_url = proxy_url  # socks5://… or http://…, for hosts that reach WhatsApp through one
        self._nz: SimpleNamespace | None = None
        self._on_message: OnMessage | None = None
        self._on_status: OnStatus | None = None
        self._go_lock = threading.Lock()
        self._client = None  # the current NewClient; only touched under _go_lock
        self._generation = 0
        self._connected = False
        self._paired = session_is_paired(self.db_path)
        self._qr: str | None = None
        self._qr_at = 0.0
        self._session_started = 0.0
        self._restart = threading.Event()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._lock_file = None
        self._offered: OrderedDict[str, tuple[Button, ...]] = OrderedDict()  # phone -> buttons last sent
        self._chats: OrderedDict[str, tuple] = OrderedDict()  # inbound id -> (chat, sender) JIDs
        self._memory_lock = threading.Lock()
        self._known_jids: dict[str, object] = {}  # phone -> JID WhatsApp answered for it

    # -- Transport ------------------------------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        routes = Blueprint("whatsapp_web", __name__)
        routes.add_url_rule("/web/qr", "qr", self._qr_route)
        return routes

    def start(self, on_message: OnMessage, on_status: OnStatus) -> None:
        self._nz = load_neonize()  # before any side effect: a missing extra changes nothing on disk
        self._on_message, self._on_status = on_message, on_status
        prepare_session_dir(self.session_dir)
        self._lock_file = acquire_session_lock(self.session_dir)
        self._paired = session_is_paired(self.db_path)
        _quiet_neonize_logs()
        if not self._paired:
            log.warning("WhatsApp Web is not paired yet: a QR code follows; scan it in WhatsApp → Settings → "
                        "Linked devices → Link a device", extra={"session_dir": str(self.session_dir)})
        self._supervisor = threading.Thread(target=self._supervise, name="whatsapp-web", daemon=True)
        self._supervisor.start()
        # Under gunicorn nobody calls stop(): this hook still disconnects cleanly at exit (it runs
        # before the interpreter waits for non-daemon threads).
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(self.stop)

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=10)  # Stop() can block behind a hung dial: do not wait forever
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    def send(self, message: Outbound) -> str:
        try:
            digits = phone_digits(message.phone)
        except ValueError as problem:
            raise SendFailed(str(problem)) from None
        text = outbound_text(message)
        if not text and not message.image_url and message.image is None and message.document is None:
            raise SendFailed("nothing to send: no text, image, document or template parameters")
        client = self._ready_client()
        payload = message.image if message.image is not None else \
            fetch_image(message.image_url) if message.image_url else None
        jid = self._recipient(client, message.phone, digits)
        if message.document is not None:
            content = self._document_message(client, message, text)
        elif payload is not None:
            content = self._image_message(client, payload, text)
        else:
            content = self._nz.Message(conversation=text)
        try:
            response = self._go(client, client.send_message, jid, content)
        except _Gone:
            raise SendFailed("WhatsApp Web disconnected while sending", retry_after=RETRY_AFTER_S) from None
        except Exception as problem:  # neonize's errors carry whatsmeow's text; most are transient
            raise SendFailed(f"WhatsApp Web did not take the message: {problem}", retry_after=RETRY_AFTER_S) from None
        self._remember_buttons(message.phone, message.buttons)
        return response.ID

    def fetch_audio(self, inbound_message_id: str, media: dict) -> AudioFile:
        """A voice note's bytes, downloaded and decrypted by whatsmeow from the keys its message
        carried (convert.AUDIO_DOWNLOAD_FIELDS, kept with the inbox row)."""
        message = self._audio_message(media)
        mime_type = media.get("mime_type") or message.audioMessage.mimetype
        check_audio_type(mime_type)
        if message.audioMessage.fileLength:
            check_size(message.audioMessage.fileLength, self.max_audio_bytes)
        try:
            client = self._ready_client()
            data = self._go(client, client.download_any, message)
        except (_Gone, SendFailed):
            raise MediaUnavailable("WhatsApp Web is not connected", retryable=True) from None
        except Exception as problem:  # whatsmeow's text: a 404/410 means the media is gone for good
            gone = any(status in str(problem) for status in ("404", "410"))
            raise MediaUnavailable(f"WhatsApp Web download failed: {problem}", retryable=not gone) from None
        return checked_audio(data or b"", mime_type, self.max_audio_bytes)

    def _audio_message(self, media: dict):
        message = self._nz.Message() if self._nz is not None else None
        try:
            message.audioMessage.ParseFromString(base64.b64decode(media["download"], validate=True))
        except Exception as problem:  # missing, not base64, not an AudioMessage (protobuf's DecodeError)
            raise MediaUnavailable(f"the voice note's download keys are unreadable: {problem!r}",
                                   retryable=False) from None
        return message

    def show_typing(self, phone: str, inbound_message_id: str | None) -> None:
        """Marks the message read (blue ticks, as the Cloud API's typing indicator does) and shows
        "typing…". Best effort: a failure here must never hold up the answer."""
        try:
            client = self._ready_client()
            nz = self._nz
            fallback = nz.build_jid(phone_digits(phone))
            with self._memory_lock:
                chat, sender = self._chats.get(inbound_message_id or "", (fallback, fallback))
            if inbound_message_id:
                self._go(client, client.mark_read, inbound_message_id, chat=chat, sender=sender,
                         receipt=nz.ReceiptType.READ)
            self._go(client, client.send_chat_presence, chat, nz.ChatPresence.CHAT_PRESENCE_COMPOSING,
                     nz.ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)
        except Exception as problem:
            log.debug("typing indicator not shown", extra={"error": repr(problem)})

    def stop_typing(self, phone: str) -> None:
        """"typing…" taken away (paused), best effort, when no reply is coming."""
        try:
            client = self._ready_client()
            nz = self._nz
            self._go(client, client.send_chat_presence, nz.build_jid(phone_digits(phone)),
                     nz.ChatPresence.CHAT_PRESENCE_PAUSED, nz.ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)
        except Exception as problem:
            log.debug("typing indicator not taken away", extra={"error": repr(problem)})

    def health(self) -> dict:
        # Only flags: a call into Go from a health probe could race a reconnect (see the docstring).
        return {"ok": self._connected and self._paired, "transport": self.name, "paired": self._paired,
                "connected": self._connected, "awaiting_qr_scan": self._qr is not None,
                "session_dir": str(self.session_dir)}

    # -- calls into neonize ---------------------------------------------------------------------------
    def _go(self, client, function, *args, timeout_s: float = -1, **kwargs):
        if not self._go_lock.acquire(timeout=timeout_s):
            raise _Gone()
        try:
            if client is not self._client:
                raise _Gone()
            return function(*args, **kwargs)
        finally:
            self._go_lock.release()

    def _ready_client(self):
        client = self._client
        if client is None or not self._connected or not self._paired:
            state = "not paired (scan the QR code)" if not self._paired else "not connected"
            raise SendFailed(f"WhatsApp Web is {state}", retry_after=RETRY_AFTER_S)
        return client

    def _recipient(self, client, phone: str, digits: str):
        """The JID WhatsApp knows the number by (it differs from the digits in some countries, e.g.
        Brazil's extra 9); a number that is not on WhatsApp is refused for good."""
        if phone in self._known_jids:
            return self._known_jids[phone]
        try:
            answers = self._go(client, client.is_on_whatsapp, phone)
        except Exception as problem:  # the lookup is a nicety: send to the plain JID rather than fail
            log.info("is_on_whatsapp failed; sending to the plain JID", extra={"error": repr(problem)})
            return self._nz.build_jid(digits)
        answer = next(iter(answers), None)
        if answer is not None and not answer.IsIn:
            raise SendFailed(f"{phone} is not on WhatsApp")
        jid = answer.JID if answer is not None and answer.JID.User else self._nz.build_jid(digits)
        self._known_jids[phone] = jid
        return jid

    def _image_message(self, client, payload: bytes, caption: str):
        try:
            return self._go(client, client.build_image_message, payload, caption=caption or None)
        except _Gone:
            raise SendFailed("WhatsApp Web disconnected while uploading", retry_after=RETRY_AFTER_S) from None
        except self._nz.NeonizeError as problem:  # the upload failed
            raise SendFailed(f"image upload failed: {problem}", retry_after=RETRY_AFTER_S) from None
        except Exception as problem:  # PIL could not read it: not an image, and it never will be
            raise SendFailed(f"image_url is not an image: {problem!r}") from None

    def _document_message(self, client, message: Outbound, caption: str):
        """neonize uploads the file and builds the DocumentMessage; WhatsApp Web takes any type."""
        try:
            return self._go(client, client.build_document_message, message.document, caption=caption or None,
                            filename=message.document_name or "documento",
                            mimetype=message.document_type or "application/octet-stream")
        except _Gone:
            raise SendFailed("WhatsApp Web disconnected while uploading", retry_after=RETRY_AFTER_S) from None
        except Exception as problem:  # the upload failed (neonize's errors carry whatsmeow's text)
            raise SendFailed(f"document upload failed: {problem}", retry_after=RETRY_AFTER_S) from None

    # -- memory of what was offered and received -----------------------------------------------------
    def _remember_buttons(self, phone: str, buttons: tuple[Button, ...]) -> None:
        with self._memory_lock:
            self._offered.pop(phone, None)  # any later message replaces the question it asked
            if buttons:
                self._offered[phone] = tuple(buttons)
                _trim(self._offered, 10_000)

    def _as_button_reply(self, inbound: Inbound) -> Inbound:
        """A typed '2' after a numbered list reads as that button, as a tap would on the Cloud API."""
        if inbound.kind != TEXT:
            return inbound
        with self._memory_lock:
            buttons = self._offered.get(inbound.phone, ())
        button = match_button(inbound.text, buttons) if buttons else None
        if button is None:
            return inbound
        return replace(inbound, kind=BUTTON_REPLY, text=button.title,
                       details={"button_id": button.id, "typed": inbound.text})

    # -- the supervisor -------------------------------------------------------------------------------
    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                outcome = self._run_session()
            except Exception:  # the supervisor must outlive any one session's bug
                log.exception("WhatsApp Web session crashed")
                outcome = "failed"
            if self._stopping.is_set():
                break
            failures = failures + 1 if outcome == "failed" else 0
            pause = min(FIRST_PAUSE_S * 2 ** (failures - 1), LONGEST_PAUSE_S) if failures else 1.0
            log.info("WhatsApp Web session ended; starting another", extra={"reason": outcome, "pause_s": pause})
            self._stopping.wait(pause)

    def _run_session(self) -> str:
        client = self._new_client()
        self._restart.clear()
        self._session_started, self._qr_at, self._qr = time.monotonic(), 0.0, None
        with self._go_lock:
            self._client = client
        runner = threading.Thread(target=self._connect, args=(client,), name="whatsapp-web-connect", daemon=True)
        runner.start()
        outcome = self._watch(runner)
        self._end(client, runner)
        return outcome

    def _new_client(self):
        nz = self._nz
        self._generation += 1
        # A fresh uuid each time: neonize stops a client's uuid when the Python object is collected,
        # which must never hit the client that replaced it.
        client = nz.NewClient(str(self.db_path), uuid=f"chasqui-web-{os.getpid()}-{self._generation}",
                              props=nz.DeviceProps(os=self.device_name, platformType=nz.DeviceProps.CHROME))
        finalizer = getattr(client, "_stop_finalizer", None)
        if finalizer is not None:  # at exit it would call Stop() on the main thread, which blocks while
            finalizer.atexit = False  # a dial hangs; our own exit hook stops the client instead
        client.event.qr(self._handle_qr)
        for event_type, handler in ((nz.ConnectedEv, self._handle_connected), (nz.PairStatusEv, self._handle_paired),
                                    (nz.DisconnectedEv, self._handle_disconnected),
                                    (nz.LoggedOutEv, self._handle_logged_out),
                                    (nz.StreamReplacedEv, self._handle_replaced),
                                    (nz.TemporaryBanEv, self._handle_banned),
                                    (nz.ConnectFailureEv, self._handle_connect_failure),
                                    (nz.MessageEv, self._handle_message), (nz.ReceiptEv, self._handle_receipt)):
            client.event(event_type)(handler)
        return client

    def _connect(self, client) -> None:
        proxy = self._nz.ProxySettings(proxy_address=self.proxy_url) if self.proxy_url else None
        try:
            client.connect(proxy)  # blocks until the client is stopped
        except Exception as problem:
            log.error("WhatsApp Web connection failed", extra={"error": str(problem)})

    def _watch(self, runner: threading.Thread) -> str:
        while not self._stopping.wait(1.0):
            if not runner.is_alive():
                return "failed"
            if self._restart.is_set():
                return "logged out"
            if not self._paired and not self._connected and \
                    time.monotonic() - max(self._qr_at, self._session_started) > QR_STALE_S:
                return "QR codes expired unscanned"
        return "stopping"

    def _end(self, client, runner: threading.Thread) -> None:
        """Stop the client and wait for its thread. While a dial hangs, whatsmeow's Disconnect waits
        for it, so this blocks too: holding _go_lock then is the safe way to be stuck."""
        with self._go_lock:
            self._client, self._connected = None, False
        for _ in range(2 if self._stopping.is_set() else 5):  # a Stop() before Go registered the client is lost
            with self._go_lock:
                try:
                    client.stop()
                except Exception as problem:
                    log.debug("neonize stop failed", extra={"error": repr(problem)})
            runner.join(timeout=3)
            if not runner.is_alive():
                break
        else:
            log.error("WhatsApp Web client did not stop")
        finalizer = getattr(client, "_stop_finalizer", None)
        if finalizer is not None:
            finalizer.detach()  # already stopped; a late Stop() from the GC would race the next client
        self._clear_qr()

    # -- neonize's events (called from its event thread) ------------------------------------------------
    def _handle_qr(self, client, code: bytes) -> None:
        if client is not self._client:
            return
        first = self._qr is None
        self._qr, self._qr_at = code.decode(), time.monotonic()
        try:
            self._show_qr(self._qr)
        except Exception:
            log.exception("QR code not shown")
        log.log(logging.WARNING if first else logging.INFO,
                "scan the QR code in WhatsApp → Settings → Linked devices → Link a device",
                extra={"qr_png": str(self.session_dir / "qr.png"), "qr_route": "/web/qr"})

    def _show_qr(self, code: str) -> None:
        import segno  # comes with neonize
        _write_private(self.session_dir / "qr.txt", code.encode() + b"\n")
        _write_private(self.session_dir / "qr.png", qr_png(code))
        segno.make_qr(code).terminal(out=sys.stdout, compact=True)
        sys.stdout.flush()

    def _clear_qr(self) -> None:
        self._qr = None
        for name in ("qr.png", "qr.txt"):
            (self.session_dir / name).unlink(missing_ok=True)

    def _handle_paired(self, client, event) -> None:
        if client is not self._client:
            return
        if enum_name(event, "Status") == "SUCCESS":
            self._paired = True
            self._clear_qr()
            log.info("WhatsApp Web paired", extra={"phone": jid_to_phone(event.ID), "platform": event.Platform})
        else:
            log.error("WhatsApp Web pairing failed", extra={"error": event.Error})

    def _handle_connected(self, client, event) -> None:
        if client is not self._client:
            return
        self._connected = self._paired = True
        self._clear_qr()
        log.info("WhatsApp Web connected", extra={"session_dir": str(self.session_dir)})
        try:  # whatsmeow: without one presence after connecting, people see "-" as our name
            self._go(client, client.send_presence, self._nz.Presence.AVAILABLE, timeout_s=10)
        except Exception as problem:
            log.info("presence not sent", extra={"error": repr(problem)})

    def _handle_disconnected(self, client, event) -> None:
        if client is self._client:
            self._connected = False
            log.warning("WhatsApp Web disconnected; whatsmeow reconnects by itself")

    def _handle_logged_out(self, client, event) -> None:
        if client is not self._client:
            return
        self._connected = self._paired = False
        self._known_jids.clear()
        log.error("WhatsApp Web logged out (removed from the phone's linked devices?); a new QR code follows",
                  extra={"reason": enum_name(event, "Reason")})
        self._restart.set()

    def _handle_replaced(self, client, event) -> None:
        if client is not self._client:
            return
        self._connected = False
        log.error("WhatsApp Web session taken over by another client using the same session; not reconnecting. "
                  "Restart the bridge once the other copy is gone")

    def _handle_banned(self, client, event) -> None:
        log.error("WhatsApp temporarily banned this number", extra={
            "code": enum_name(event, "Code"),
            "expire_s": event.Expire})

    def _handle_connect_failure(self, client, event) -> None:
        log.error("WhatsApp refused the connection", extra={"reason": enum_name(event, "Reason"),
                                                            "detail": event.Message})

    def _handle_message(self, client, event) -> None:
        if client is not self._client or self._on_message is None:
            return
        try:
            inbound = inbound_from_event(event, resolve_lid=lambda jid: self._resolve_lid(client, jid))
            if inbound is None:
                return
            with self._memory_lock:
                source = event.Info.MessageSource
                self._chats[inbound.message_id] = (source.Chat, source.Sender)
                _trim(self._chats, 2_000)
            self._on_message(self._as_button_reply(inbound))
        except Exception:  # an exception would only be printed by ctypes, and the message lost silently
            log.exception("inbound WhatsApp Web message not handled", extra={"message_id": event.Info.ID})

    def _handle_receipt(self, client, event) -> None:
        if self._on_status is None:
            return
        for message_id, status in statuses_from_receipt(event):
            try:
                self._on_status(message_id, status, None)
            except Exception:
                log.exception("status not handled", extra={"message_id": message_id})

    def _resolve_lid(self, client, jid):
        try:
            resolved = self._go(client, client.get_pn_from_lid, jid, timeout_s=5)
        except Exception as problem:
            log.info("hidden id (@lid) not resolved to a phone", extra={"error": repr(problem)})
            return None
        return resolved if resolved.User else None

    # -- HTTP -------------------------------------------------------------------------------------------
    def _qr_route(self):
        """The QR code for headless servers (reach it through an SSH tunnel): PNG, or ?format=text."""
        if not _is_loopback(request.remote_addr):
            return jsonify({"error": "the QR code is served to loopback clients only"}), 403
        code = self._qr
        if code is None:
            return jsonify({"paired": self._paired, "qr": None}), 404
        no_store = {"Cache-Control": "no-store", "Refresh": "10"}  # a QR code lasts 20 s
        png = None if request.args.get("format") == "text" else qr_png(code)
        if png is None:
            return Response(code + "\n", mimetype="text/plain", headers=no_store)
        return Response(png, mimetype="image/png", headers=no_store)


def _trim(memory: OrderedDict, size: int) -> None:
    while len(memory) > size:
        memory.popitem(last=False)
