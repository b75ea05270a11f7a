"""The backend's settings, all from environment variables (documented in .env.example)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from backend.agent.model_endpoints import EndpointSpec, parse_endpoints
from chasqui.env import chasqui_home, env_bool, env_float, env_int, env_str
from chasqui.network import require_token_off_loopback


@dataclass(frozen=True)
class BackendSettings:
    db_path: Path
    host: str
    port: int
    token: str  # bridge -> backend bearer token; empty = open (loopback-only default)
    model_api_url: str  # one or more comma-separated URLs (backend/agent/model_endpoints.py)
    model_api_token: str  # one for all, or one per URL
    secondary_model_api_url: str  # optional fallback endpoints
    model_timeout_s: float
    model_temperature: float
    model_retries: int
    breaker_failures: int  # consecutive failures that open the circuit
    breaker_cooldown_s: float
    daily_model_calls: int  # primary (large) model calls per contact and day; 0 = unlimited
    daily_secondary_model_calls: int  # secondary (small) model calls per contact and day; 0 = unlimited
    alert_lease_s: float
    alert_max_attempts: int
    alert_backoff_s: float
    plugins: tuple[str, ...]
    max_body_bytes: int = 64_000
    warm_up: bool = True  # have the model evaluate the plug-ins' fixed prompts once at start
    admin_secure_cookies: bool = False  # the admin's session cookie only over HTTPS (behind TLS)
    # Voice notes: an OpenAI-compatible speech-to-text server (the model API's own by default).
    speech_api_url: str = "http://127.0.0.1:8001"
    speech_api_token: str = ""
    speech_model: str = "whisper-base"  # the `model` field sent; the model API serves what it loaded
    speech_language: str = "es"
    speech_timeout_s: float = 90.0
    max_audio_bytes: int = 16 * 1024 * 1024  # WhatsApp's own limit for an audio message
    takeover_idle_s: float = 12 * 3600  # an officer silent this long hands the conversation back to the bot
    secondary_model_api_token: str = ""
    classify_model_api_url: str = ""  # optional endpoints for the classification calls (a small fast model)
    classify_model_api_token: str = ""
    model_health_interval_s: float = 10.0  # 0 = no background health checks (the circuit breakers still act)
    model_stream: bool = True  # stream from OpenAI-protocol servers: first-token time and tokens/s measured
    database_url: str = ""  # postgresql://… (BACKEND_DATABASE_URL); empty: the SQLite file at db_path

    @property
    def database(self) -> str | Path:
        """What the store opens: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.db_path

    def with_overrides(self, **changes) -> "BackendSettings":
        return replace(self, **changes)


def load_settings() -> BackendSettings:
    settings = BackendSettings(
        db_path=Path(env_str("BACKEND_DB_PATH") or chasqui_home() / "chasqui.db").expanduser(),
        host=env_str("BACKEND_HOST", "127.0.0.1"),
        port=env_int("BACKEND_PORT", 8002, minimum=0, maximum=65535),
        token=env_str("BACKEND_TOKEN"),
        model_api_url=env_str("MODEL_API_URL", "http://127.0.0.1:8001"),
        model_api_token=env_str("MODEL_API_TOKEN"),
        secondary_model_api_url=env_str("SECONDARY_MODEL_API_URL"),
        model_timeout_s=env_float("BACKEND_MODEL_TIMEOUT", 60.0, minimum=0.1),
        model_temperature=env_float("BACKEND_MODEL_TEMPERATURE", 0.0, minimum=0.0),
        model_retries=env_int("BACKEND_MODEL_RETRIES", 2, minimum=0),
        breaker_failures=env_int("BACKEND_BREAKER_FAILURES", 3, minimum=1),
        breaker_cooldown_s=env_float("BACKEND_BREAKER_COOLDOWN", 30.0, minimum=0.0),
        daily_model_calls=env_int("BACKEND_DAILY_MODEL_CALLS", 200, minimum=0),
        daily_secondary_model_calls=env_int("BACKEND_DAILY_SECONDARY_MODEL_CALLS", 0, minimum=0),
        alert_lease_s=env_float("ALERT_LEASE_SECONDS", 60.0, minimum=1.0),
        alert_max_attempts=env_int("ALERT_MAX_ATTEMPTS", 5, minimum=1),
        alert_backoff_s=env_float("ALERT_BACKOFF_SECONDS", 30.0, minimum=0.0),
        plugins=tuple(p for p in env_str("BACKEND_PLUGINS", "example").split(",") if p.strip()),
        warm_up=env_str("BACKEND_WARM_UP", "1") != "0",
        admin_secure_cookies=env_bool("ADMIN_SECURE_COOKIES", False),
        speech_api_url=(env_str("SPEECH_API_URL") or _first_url(env_str("MODEL_API_URL", "http://127.0.0.1:8001"))),
        speech_api_token=env_str("SPEECH_API_TOKEN") or env_str("MODEL_API_TOKEN"),
        speech_model=env_str("SPEECH_API_MODEL", "whisper-base"),
        speech_language=env_str("SPEECH_LANGUAGE", "es"),
        speech_timeout_s=env_float("BACKEND_SPEECH_TIMEOUT", 90.0, minimum=1.0),
        max_audio_bytes=env_int("BACKEND_MAX_AUDIO_BYTES", 16 * 1024 * 1024, minimum=1024),
        takeover_idle_s=env_float("BACKEND_TAKEOVER_IDLE_HOURS", 12.0, minimum=0.01) * 3600,
        secondary_model_api_token=env_str("SECONDARY_MODEL_API_TOKEN") or env_str("MODEL_API_TOKEN"),
        classify_model_api_url=env_str("CLASSIFY_MODEL_API_URL"),
        classify_model_api_token=env_str("CLASSIFY_MODEL_API_TOKEN") or env_str("MODEL_API_TOKEN"),
        model_health_interval_s=env_float("BACKEND_MODEL_HEALTH_INTERVAL", 10.0, minimum=0.0),
        model_stream=env_bool("BACKEND_MODEL_STREAM", True),
        database_url=env_str("BACKEND_DATABASE_URL"),
    )
    model_endpoint_specs(settings)  # a URL setting that cannot be used stops the start, with the reason
    return settings


def model_endpoint_specs(settings: BackendSettings) -> list[EndpointSpec]:
    """Every model endpoint the settings name, by tier."""
    return [*parse_endpoints(settings.classify_model_api_url, settings.classify_model_api_token, "classify",
                             "CLASSIFY_MODEL_API_URL"),
            *parse_endpoints(settings.model_api_url, settings.model_api_token, "model", "MODEL_API_URL"),
            *parse_endpoints(settings.secondary_model_api_url, settings.secondary_model_api_token, "secondary",
                             "SECONDARY_MODEL_API_URL")]


def _first_url(urls: str) -> str:
    """The speech server by default: the first model API's (Chasqui's serves both)."""
    return urls.split(",")[0].partition("#")[0].strip().rstrip("/")


def check_network_safety(settings: BackendSettings) -> None:
    """A backend other machines can reach serves /agent and /alert only behind BACKEND_TOKEN."""
    require_token_off_loopback("the backend", settings.host, settings.token, "BACKEND_TOKEN")
