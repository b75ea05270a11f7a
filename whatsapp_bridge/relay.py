"""Inbound message -> POST /agent (a voice note: its audio -> POST /agent/voice) -> reply sent
back, for every transport.

A message is kept in the inbox before anything else happens and is worked on by a small pool of
threads, one message per phone at a time so that a user's answers arrive in the order asked.
While the backend thinks the user sees "typing…", and after `holding_after_s` a short note that
the answer is coming. A backend that is down or a provider that refuses leaves the message
waiting; a retry loop offers it again every `retry_every_s`. A voice note's audio is fetched
from the provider in the worker and kept in the inbox before the backend is asked.

A reaction goes to POST /agent/reaction quietly (no typing, no holding note), waits like a message
while the backend is down, and is answered only when the backend has something to say. An answer
with "silencio" (an officer holds the chat) is sent as nothing; one with "olvidar" makes the
bridge forget the phone once the reply is delivered. Contracts: docs/officers_desk.md.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from whatsapp_bridge.backend_client import BackendClient, BackendRefused, BackendUnavailable
from whatsapp_bridge.inbox import WINDOW_S, Entry, Inbox
from whatsapp_bridge.media import MediaUnavailable
from whatsapp_bridge.messages import (AUDIO, REACTION, TEXT, UNSUPPORTED_REPLY, Inbound, Outbound, SendFailed,
                                      choice_buttons)
from whatsapp_bridge.splitting import WHATSAPP_MAX_CHARS, split_message
from whatsapp_bridge.transports.base import Transport

log = logging.getLogger(__name__)

HOLDING_REPLY = "Un momento, estoy preparando tu respuesta…"
BACKEND_DOWN_REPLY = ("Recibí tu mensaje, pero el servicio está con problemas ahora. "
                      "Te respondo apenas se recupere.")
REFUSED_REPLIES = {
    "message_too_long": "Tu mensaje es muy largo. ¿Me lo puedes enviar en partes más cortas?",
}
SERVER_ERRORS_BEFORE_REFUSING = 3  # tries of one message that end in an HTTP 500 while /health is fine
REFUSED_REPLY = "No pude procesar ese mensaje. ¿Me lo puedes escribir de otra forma?"
# A voice note whose audio cannot be had (too big, not audio, gone at the provider).
AUDIO_UNREADABLE_REPLY = "No pude abrir tu audio. ¿Me lo puedes enviar de nuevo o escribirlo?"
AUDIO_REPLIES = {
    "too_large": "Tu audio es demasiado largo para mí. ¿Me lo puedes enviar en partes más cortas o escribirlo?",
}
# Fetches of one note that failed in a way that may pass (network, the provider's 5xx) before the
# user is asked to send it again: with the growing retry delay, some ten minutes.
MEDIA_FAILURES_BEFORE_REFUSING = 10
LONGEST_RETRY_S = 300.0


class Relay:
    def __init__(self, inbox: Inbox, backend: BackendClient, transport: Transport, workers: int,
                 holding_after_s: float, retry_every_s: float):
        self.inbox, self.backend, self.transport = inbox, backend, transport
        self.holding_after_s, self.retry_every_s = holding_after_s, retry_every_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="relay")
        self._phone_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._stop = threading.Event()
        self._retry_thread = threading.Thread(target=self._retry_loop, name="relay-retry", daemon=True)
        self.max_chars = WHATSAPP_MAX_CHARS  # one message's limit; tests lower it to see splits

    def start(self) -> None:
        self._retry_thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def receive(self, message: Inbound) -> bool:
        """Keep the message and hand it to a worker; False for a repeat of one already received.
        Returns at once: webhooks must be acknowledged quickly or the provider sends them again."""
        entry_id = self.inbox.add(message)
        if entry_id is None:
            log.info("repeated message ignored", extra={"message_id": message.message_id})
            return False
        self.inbox.take_due_one(entry_id)
        self._pool.submit(self._handle, entry_id)
        return True

    # -- one message -----------------------------------------------------------------------------
    def _handle(self, entry_id: int) -> None:
        entry = self.inbox.get(entry_id)
        if time.time() - entry.received_at > WINDOW_S:  # WhatsApp would not take the reply any more
            self.inbox.failed(entry_id, "not answered within 24 hours; given up")
            return
        with self._phone_locks[entry.phone]:
            try:
                if entry.reply_pieces is None and self._ask(entry_id) is None:
                    return  # kept for later: the backend could not answer
                self._deliver(entry_id)
            except Exception as problem:  # never lose a message to a bug: it waits and is tried again
                log.exception("relay failed", extra={"entry": entry_id})
                self.inbox.retry_later(entry_id, self._retry_delay(entry_id), repr(problem))

    def _retry_delay(self, entry_id: int, at_least: float = 0.0) -> float:
        """Retries space out (x1.5 each) up to five minutes, so a long outage costs little."""
        attempts = self.inbox.get(entry_id).attempts
        return max(at_least, min(self.retry_every_s * 1.5 ** attempts, LONGEST_RETRY_S))

    def _ask(self, entry_id: int) -> list[str] | None:
        """The answer's pieces, stored; None when the message must wait (backend down)."""
        entry = self.inbox.get(entry_id)
        options: list[str] = []  # the answers the reply offers, when the backend gives them
        forget = False
        if entry.kind == REACTION:
            return self._ask_reaction(entry)
        if entry.kind not in (TEXT, AUDIO) and not entry.text:
            pieces = [UNSUPPORTED_REPLY]  # media the stack cannot read yet: say so, kindly
        else:
            self.inbox.asking(entry_id)
            self.transport.show_typing(entry.phone, entry.message_id)
            holding = threading.Timer(self.holding_after_s, self._send_holding, (entry_id,)) \
                if self.holding_after_s else None
            if holding:
                holding.daemon = True
                holding.start()

            def typing_again() -> None:  # the model began writing the answer: "escribiendo…" again
                self.transport.show_typing(entry.phone, entry.message_id)
            try:
                answer = self._voice(entry, typing_again) if entry.kind == AUDIO else \
                    self.backend.agent(entry.phone, entry.text, entry.message_id, entry.name, on_typing=typing_again)
                if entry.kind == AUDIO and isinstance(answer.get("transcript"), str):
                    self.inbox.heard(entry_id, answer["transcript"])
                forget = answer.get("olvidar") is True
                if answer.get("silencio") is True:  # an officer holds the chat: nothing at all goes out
                    log.info("silence: an officer holds the conversation", extra={"entry": entry_id})
                    self.transport.stop_typing(entry.phone)
                    self.inbox.answer_known(entry_id, [], forget=forget)
                    return []
                pieces = split_message(answer["model_output"]["respuesta_chat"], self.max_chars) or [REFUSED_REPLY]
                options = answer.get("opciones") if isinstance(answer.get("opciones"), list) else []
            except MediaUnavailable as problem:
                if problem.retryable and self.inbox.media_failed(entry_id) < MEDIA_FAILURES_BEFORE_REFUSING:
                    return self._keep(entry_id, "voice note not fetched; kept", problem)
                log.warning("voice note unavailable; the user is asked again", extra={"entry": entry_id,
                                                                                      "error": str(problem)})
                self.inbox.refused(entry_id, f"audio {problem.code}: {problem}")
                pieces = [AUDIO_REPLIES.get(problem.code, AUDIO_UNREADABLE_REPLY)]
            except BackendUnavailable as problem:
                if self._poisoned(entry, problem):
                    log.error("the backend fails on this message every time; answered as refused",
                              extra={"entry": entry_id, "error": str(problem)})
                    self.inbox.refused(entry_id, str(problem))
                    self.inbox.answer_known(entry_id, [REFUSED_REPLY])
                    return [REFUSED_REPLY]
                return self._keep(entry_id, "backend unavailable; message kept", problem)
            except BackendRefused as problem:
                log.warning("backend refused the message", extra={"entry": entry_id, "error": str(problem)})
                self.inbox.refused(entry_id, str(problem))
                pieces = [_refused_reply(entry, problem)]
            except (KeyError, TypeError) as problem:
                log.error("backend answer without respuesta_chat", extra={"entry": entry_id, "error": repr(problem)})
                pieces = [REFUSED_REPLY]
            finally:
                if holding:
                    holding.cancel()
        self.inbox.answer_known(entry_id, pieces, options, forget=forget)
        return pieces

    def _ask_reaction(self, entry: Entry) -> list[str] | None:
        """POST /agent/reaction, with the inbound message the reacted reply answered when it is
        one of ours. A reaction is a rating, not a question: whatever goes wrong, the user is never
        told (no holding note, no refusal); only the backend's own respuesta_chat is sent."""
        reply_to = self.inbox.answered_by(entry.reacted_to)
        try:
            answer = self.backend.reaction(entry.phone, entry.message_id, entry.reacted_to or "", entry.emoji or "",
                                           reply_to)
            said = answer.get("respuesta_chat") if isinstance(answer, dict) else None
            pieces = split_message(said, self.max_chars) if isinstance(said, str) and said.strip() else []
        except BackendUnavailable as problem:
            if not self._poisoned(entry, problem):
                log.warning("backend unavailable; reaction kept", extra={"entry": entry.id, "error": str(problem)})
                self.inbox.retry_later(entry.id, self._retry_delay(entry.id), str(problem))
                return None
            log.error("the backend fails on this reaction every time; dropped", extra={"entry": entry.id})
            self.inbox.refused(entry.id, str(problem))
            pieces = []
        except BackendRefused as problem:
            older = problem.status in (404, 405)  # a backend from before reactions: nothing to rate with
            log.log(logging.INFO if older else logging.WARNING,
                    "the backend takes no reactions; dropped" if older else "backend refused the reaction",
                    extra={"entry": entry.id, "error": str(problem)})
            self.inbox.refused(entry.id, str(problem))
            pieces = []
        self.inbox.answer_known(entry.id, pieces)
        return pieces

    def _keep(self, entry_id: int, what: str, problem: Exception) -> None:
        """Kept for the retry loop; the user hears once that the answer will come."""
        log.warning(what, extra={"entry": entry_id, "error": str(problem)})
        self._send_holding(entry_id, BACKEND_DOWN_REPLY)
        self.inbox.retry_later(entry_id, self._retry_delay(entry_id), str(problem))
        return None

    def _voice(self, entry: Entry, on_typing) -> dict:
        """POST /agent/voice with the note's audio: the inbox's copy, or fetched and kept first, so
        that a retry (backend down, bridge restarted) does not fetch it again."""
        audio = self.inbox.audio(entry.id)
        if audio is None:
            audio = self.transport.fetch_audio(entry.message_id, entry.media)
            self.inbox.keep_audio(entry.id, audio)
        return self.backend.voice(entry.phone, audio.data, audio.mime_type, entry.message_id, entry.name,
                                  on_typing=on_typing)

    def _poisoned(self, entry, problem: BackendUnavailable) -> bool:
        """A 500 for this message, again, while the backend answers its health check: the message
        is the problem, not an outage; retrying it for 24 hours would help nobody. Only 500s
        count: the connection errors of an outage before them say nothing about the message."""
        if problem.status != 500:
            return False
        return self.inbox.server_error(entry.id) >= SERVER_ERRORS_BEFORE_REFUSING and self.backend.health()

    def _deliver(self, entry_id: int) -> None:
        entry = self.inbox.get(entry_id)
        for index in range(entry.pieces_sent, len(entry.reply_pieces)):
            piece, last = entry.reply_pieces[index], index == len(entry.reply_pieces) - 1
            # The offered answers ride on the last piece (WhatsApp: a button message's text is <= 1024)
            buttons = choice_buttons(entry.options) if last and len(piece) <= 1024 else ()
            # A reaction's answer quotes nothing: the reaction is no message to reply to.
            quoted = entry.message_id if index == 0 and entry.kind != REACTION else None
            try:
                provider_id = self.transport.send(Outbound(entry.phone, piece, buttons=buttons, reply_to=quoted))
            except SendFailed as problem:
                if problem.retryable:
                    self.inbox.retry_later(entry_id, self._retry_delay(entry_id, problem.retry_after), str(problem))
                else:
                    self.inbox.failed(entry_id, str(problem))
                    self._forget_if_asked(entry)  # the data is gone at the backend: nothing to keep it for here
                log.warning("reply not sent", extra={"entry": entry_id, "error": str(problem),
                                                     "retryable": problem.retryable})
                return
            self.inbox.piece_sent(entry_id, index + 1, provider_id)
        self.inbox.answered(entry_id)
        self._forget_if_asked(entry)

    def _forget_if_asked(self, entry: Entry) -> None:
        """After a confirmed «BORRAR MIS DATOS»: the phone's rows up to this one go, audio and all."""
        if entry.forget:
            deleted = self.inbox.forget(entry.phone, entry.id)
            log.info("forgot a phone at the backend's request", extra={"entry": entry.id, "rows": deleted})

    def _send_holding(self, entry_id: int, text: str = HOLDING_REPLY) -> None:
        """At most one holding note per message, however many retries it takes."""
        entry = self.inbox.get(entry_id)
        if entry.holding_sent or entry.status in ("replying", "answered"):
            return
        try:
            self.transport.send(Outbound(entry.phone, text, purpose="holding"))
            self.inbox.holding_sent(entry_id)
        except SendFailed as problem:
            log.warning("holding note not sent", extra={"entry": entry_id, "error": str(problem)})

    # -- waiting messages --------------------------------------------------------------------------
    def _retry_loop(self) -> None:
        while not self._stop.wait(self.retry_every_s):
            try:
                for entry_id in self.inbox.take_due():
                    self._pool.submit(self._handle, entry_id)
            except Exception:
                log.exception("retry loop failed; trying again next round")


def _refused_reply(entry: Entry, problem: BackendRefused) -> str:
    if entry.kind == AUDIO and problem.status == 413:  # over the backend's own audio limit
        return AUDIO_REPLIES["too_large"]
    return next((text for code, text in REFUSED_REPLIES.items() if code in str(problem)), REFUSED_REPLY)
