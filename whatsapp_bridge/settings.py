"""The bridge's settings, from the environment (all listed in .env.example)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from chasqui.env import SettingError, chasqui_home, env_bool, env_float, env_int, env_str
from chasqui.network import require_loopback_unless_allowed
from whatsapp_bridge.media import MAX_AUDIO_BYTES

TRANSPORTS = ("simulator", "cloud", "web")


@dataclass(frozen=True)
class BridgeSettings:
    transport: str
    host: str
    port: int
    state_path: Path  # the bridge's own SQLite file: inbound messages kept until answered
    backend_url: str
    backend_token: str
    backend_timeout_s: float  # one /agent call; the model may take a while
    holding_after_s: float  # send a short "un momento" when the backend is slower than this; 0 = never
    retry_every_s: float  # how often kept messages are offered to the backend again while it is down
    alert_poll_s: float  # the seed's 10 s polling, used when long-polling is off or failing
    alert_long_poll_s: float  # GET /alerts/pending?wait=N; 0 = plain polling only
    alert_batch: int
    relay_workers: int  # messages handled at once (each waits for the backend)
    # cloud transport
    graph_api_url: str
    graph_api_version: str
    whatsapp_access_token: str
    whatsapp_phone_number_id: str
    whatsapp_app_secret: str
    whatsapp_verify_token: str
    alert_template: str  # approved template for alerts outside the 24-hour window: "name" or "name:lang"
    sends_per_second: float  # Meta's per-number throughput (80 messages/s by default)
    # web transport
    web_session_dir: Path
    max_body_bytes: int = 256_000
    # voice notes: the largest accepted (WhatsApp's own limit), and how long the backend may take to
    # hear one on top of backend_timeout_s (its BACKEND_SPEECH_TIMEOUT: keep the two equal)
    max_audio_bytes: int = MAX_AUDIO_BYTES
    speech_timeout_s: float = 90.0
    # simulator transport: listening off loopback lets anyone who reaches it speak as any phone
    simulator_allow_network: bool = False
    # the number a simulator or WhatsApp Web bridge speaks as, when several bridges share a backend
    # (the cloud transport's is its phone_number_id)
    bridge_channel: str = ""

    @property
    def channel(self) -> str:
        """The business number this bridge speaks as, told to the backend with every message and
        alert claim, so that several bridges (one per number) on one backend each answer, and
        send alerts to, the people who wrote to their own number. Empty: one bridge for all."""
        return self.whatsapp_phone_number_id if self.transport == "cloud" else self.bridge_channel

    def with_overrides(self, **changes) -> "BridgeSettings":
        return replace(self, **changes)


def load_settings() -> BridgeSettings:
    transport = env_str("BRIDGE_TRANSPORT", "simulator")
    if transport not in TRANSPORTS:
        raise SettingError(f"BRIDGE_TRANSPORT={transport!r} must be one of {', '.join(TRANSPORTS)}")
    return BridgeSettings(
        transport=transport,
        host=env_str("BRIDGE_HOST", "127.0.0.1"),
        port=env_int("BRIDGE_PORT", 8003, minimum=0, maximum=65535),
        state_path=Path(env_str("BRIDGE_STATE_PATH") or chasqui_home() / "bridge.db").expanduser(),
        backend_url=env_str("BACKEND_URL", "http://127.0.0.1:8002").rstrip("/"),
        backend_token=env_str("BACKEND_TOKEN"),
        backend_timeout_s=env_float("BRIDGE_BACKEND_TIMEOUT", 120.0, minimum=1.0),
        holding_after_s=env_float("BRIDGE_HOLDING_AFTER", 8.0, minimum=0.0),
        retry_every_s=env_float("BRIDGE_RETRY_EVERY", 5.0, minimum=0.1),
        alert_poll_s=env_float("ALERT_POLL_SECONDS", 10.0, minimum=0.1),
        alert_long_poll_s=env_float("ALERT_LONG_POLL_SECONDS", 25.0, minimum=0.0),
        alert_batch=env_int("ALERT_BATCH", 20, minimum=1, maximum=100),
        relay_workers=env_int("BRIDGE_RELAY_WORKERS", 4, minimum=1),
        graph_api_url=env_str("WHATSAPP_GRAPH_API_URL", "https://graph.facebook.com").rstrip("/"),
        graph_api_version=env_str("WHATSAPP_GRAPH_API_VERSION", "v21.0"),
        whatsapp_access_token=env_str("WHATSAPP_ACCESS_TOKEN"),
        whatsapp_phone_number_id=env_str("WHATSAPP_PHONE_NUMBER_ID"),
        whatsapp_app_secret=env_str("WHATSAPP_APP_SECRET"),
        whatsapp_verify_token=env_str("WHATSAPP_VERIFY_TOKEN"),
        alert_template=env_str("WHATSAPP_ALERT_TEMPLATE"),
        sends_per_second=env_float("WHATSAPP_SENDS_PER_SECOND", 80.0, minimum=0.1),
        web_session_dir=Path(env_str("WHATSAPP_WEB_SESSION_DIR") or chasqui_home() / "whatsapp-web").expanduser(),
        simulator_allow_network=env_bool("BRIDGE_SIMULATOR_ALLOW_NETWORK", False),
        max_audio_bytes=env_int("BRIDGE_MAX_AUDIO_BYTES", MAX_AUDIO_BYTES, minimum=1024),
        speech_timeout_s=env_float("BRIDGE_SPEECH_TIMEOUT", 90.0, minimum=1.0),
        bridge_channel=_bridge_channel(transport),
    )


def _bridge_channel(transport: str) -> str:
    channel = env_str("BRIDGE_CHANNEL").strip()
    if channel and transport == "cloud":
        raise SettingError("BRIDGE_CHANNEL is for the simulator and web transports: a cloud bridge's number is "
                           "its WHATSAPP_PHONE_NUMBER_ID")
    if len(channel) > 64 or not channel.isprintable():
        raise SettingError(f"BRIDGE_CHANNEL={channel[:70]!r} must be a short name of this bridge's number "
                           "(64 characters at most, printable)")
    return channel


def check_network_safety(settings: BridgeSettings) -> None:
    """The simulator and the WhatsApp Web pairing page have no login, so they stay on loopback
    unless BRIDGE_SIMULATOR_ALLOW_NETWORK=1.
    (The cloud transport's webhook is signature-checked: check_cloud_settings.)"""
    if settings.transport == "simulator":
        require_loopback_unless_allowed(
            "the WhatsApp simulator (BRIDGE_TRANSPORT=simulator)", settings.host, settings.simulator_allow_network,
            "BRIDGE_SIMULATOR_ALLOW_NETWORK", "it has no login: anyone who reaches it can write as any phone "
            "number and read every simulated conversation")
    elif settings.transport == "web":  # GET /web/qr shows the pairing code, also without a login
        require_loopback_unless_allowed(
            "the WhatsApp Web transport (BRIDGE_TRANSPORT=web)", settings.host, settings.simulator_allow_network,
            "BRIDGE_SIMULATOR_ALLOW_NETWORK", "its pairing page /web/qr has no login: anyone who reaches it "
            "can link their own WhatsApp account to this bridge")


def check_cloud_settings(settings: BridgeSettings) -> None:
    """The cloud transport cannot run half-configured: an unsigned webhook must never be accepted,
    and a bridge that faces the internet talks to the backend with a token."""
    missing = [name for name, value in (("BACKEND_TOKEN", settings.backend_token),
                                        ("WHATSAPP_ACCESS_TOKEN", settings.whatsapp_access_token),
                                        ("WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id),
                                        ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
                                        ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token)) if not value]
    if missing:
        raise SettingError(f"BRIDGE_TRANSPORT=cloud needs {', '.join(missing)}")
