"""The contract every transport keeps, so the relay and the alert sender never know which one
they talk to.

A transport delivers inbound messages by calling the `on_message` callback given to `start()`
(from a webhook route in its blueprint, or from its own client thread), and sends outbound ones
with `send()`, which returns the provider's message id once the provider has accepted the
message, or raises SendFailed; that id is how a later reaction or delivery status names it. A voice note's bytes come with the Inbound (details["audio"]) or
are fetched later with `fetch_audio()`, from the relay's worker.
"""
from __future__ import annotations

from typing import Callable, Protocol

from flask import Blueprint

from whatsapp_bridge.media import AudioFile
from whatsapp_bridge.messages import Inbound, Outbound

OnMessage = Callable[[Inbound], None]
# (provider message id, status: sent|delivered|read|failed, error text or None)
OnStatus = Callable[[str, str, "str | None"], None]


class Transport(Protocol):
    name: str

    def blueprint(self) -> Blueprint | None:
        """HTTP routes the bridge serves for this transport (a webhook, the simulator page), if any."""

    def start(self, on_message: OnMessage, on_status: OnStatus) -> None:
        """Begin receiving. Called once, before the bridge serves requests."""

    def stop(self) -> None:
        """Stop receiving and release connections."""

    def send(self, message: Outbound) -> str:
        """Deliver one message; return the provider's id once accepted, or raise SendFailed."""

    def fetch_audio(self, inbound_message_id: str, media: dict) -> AudioFile:
        """An inbound voice note's bytes, from what its Inbound's details said of it (`media`: the
        provider's media id, type…), at most BRIDGE_MAX_AUDIO_BYTES of audio; or MediaUnavailable,
        which says whether trying later may help."""

    def show_typing(self, phone: str, inbound_message_id: str | None) -> None:
        """Best effort 'typing…' while the backend thinks; never raises."""

    def stop_typing(self, phone: str) -> None:
        """Best effort: take 'typing…' away when no reply will come (silence); never raises."""

    def health(self) -> dict:
        """{'ok': bool, ...details} for the bridge's /health."""
