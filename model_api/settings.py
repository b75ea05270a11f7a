"""The model API's settings, all from environment variables (documented in .env.example)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from chasqui.env import SettingError, chasqui_home, env_float, env_int, env_str
from chasqui.network import require_token_off_loopback
from model_api.catalog import DEFAULT_MODEL, DEFAULT_SPEECH_MODEL, NO_SPEECH, SpeechModel, lookup, lookup_speech
from model_api.whisper_languages import LANGUAGES

OPENAI_MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's own upload limit for /v1/audio/transcriptions


@dataclass(frozen=True)
class SpeechSettings:
    """Speech-to-text (model_api/speech.py). The defaults are the documented ones; `model_dir`
    None means speech is off."""

    model_name: str = NO_SPEECH  # catalog name, the directory's name for SPEECH_MODEL_PATH, or "none"
    model_dir: Path | None = None
    catalog_model: SpeechModel | None = None  # what to verify against; None for SPEECH_MODEL_PATH
    language: str = "es"
    threads: int = 1  # model_api/speech.py says why one, beside the LLM's
    beam_size: int = 5  # model_api/speech.py says why
    queue_size: int = 4
    timeout_s: float = 60.0
    max_seconds: float = 120.0
    max_body_bytes: int = OPENAI_MAX_AUDIO_BYTES

    @property
    def enabled(self) -> bool:
        return self.model_dir is not None


@dataclass(frozen=True)
class ModelApiSettings:
    model_name: str  # catalog name, or the file's stem for a custom MODEL_PATH
    model_path: Path
    model_sha256: str | None
    model_size_bytes: int | None
    quantization: str
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    n_batch: int
    host: str
    port: int
    token: str
    queue_size: int
    request_timeout_s: float
    max_tokens_limit: int
    max_body_bytes: int
    warm_up: bool = True
    prefix_states: int = 8  # saved system-prompt KV states (model_api/prefix_states.py); 0 disables
    speech: SpeechSettings = field(default_factory=SpeechSettings)

    def with_overrides(self, **changes) -> "ModelApiSettings":
        return replace(self, **changes)


def models_dir() -> Path:
    return Path(env_str("CHASQUI_MODELS_DIR") or chasqui_home() / "models").expanduser()


def load_settings() -> ModelApiSettings:
    custom_path = env_str("MODEL_PATH")
    if custom_path:
        path = Path(custom_path).expanduser()
        name, sha, size, quant = path.stem, env_str("MODEL_SHA256") or None, None, env_str("MODEL_QUANTIZATION", "unknown")
    else:
        model = lookup(env_str("CHASQUI_MODEL", DEFAULT_MODEL))
        path = models_dir() / model.file_name
        name, sha, size, quant = model.name, model.sha256, model.size_bytes, model.quantization
    return ModelApiSettings(
        model_name=name,
        model_path=path,
        model_sha256=sha,
        model_size_bytes=size,
        quantization=quant,
        n_ctx=env_int("MODEL_N_CTX", 4096, minimum=256),
        n_threads=env_int("MODEL_N_THREADS", os.cpu_count() or 2, minimum=1),
        n_gpu_layers=env_int("MODEL_N_GPU_LAYERS", 0, minimum=-1),
        n_batch=env_int("MODEL_N_BATCH", 512, minimum=8),
        host=env_str("MODEL_API_HOST", "127.0.0.1"),
        port=env_int("MODEL_API_PORT", 8001, minimum=1, maximum=65535),
        token=env_str("MODEL_API_TOKEN"),
        queue_size=env_int("MODEL_API_QUEUE_SIZE", 8, minimum=1),
        request_timeout_s=env_float("MODEL_API_REQUEST_TIMEOUT", 120.0, minimum=0.1),
        max_tokens_limit=env_int("MODEL_API_MAX_TOKENS", 1024, minimum=1),
        max_body_bytes=env_int("MODEL_API_MAX_BODY_BYTES", 1_000_000, minimum=1024),
        warm_up=env_str("MODEL_API_WARM_UP", "1") != "0",
        prefix_states=env_int("MODEL_API_PREFIX_STATES", 8, minimum=0),
        speech=load_speech_settings(),
    )


def load_speech_settings() -> SpeechSettings:
    defaults = SpeechSettings()
    custom_dir = env_str("SPEECH_MODEL_PATH")
    name = env_str("SPEECH_MODEL", DEFAULT_SPEECH_MODEL)
    if name == NO_SPEECH:
        model_dir = catalog_model = None
    elif custom_dir:
        model_dir, catalog_model = Path(custom_dir).expanduser(), None
        name = model_dir.name
    else:
        try:
            catalog_model = lookup_speech(name)
        except KeyError as unknown:
            raise SettingError(f"SPEECH_MODEL: {unknown.args[0]} (or none)") from None
        model_dir = models_dir() / catalog_model.name
    language = env_str("SPEECH_LANGUAGE", defaults.language).lower()
    if language not in LANGUAGES:
        raise SettingError(f"SPEECH_LANGUAGE={language!r} is not a language Whisper knows (es, en, pt, …)")
    return SpeechSettings(
        model_name=name,
        model_dir=model_dir,
        catalog_model=catalog_model,
        language=language,
        threads=env_int("SPEECH_THREADS", defaults.threads, minimum=1),
        beam_size=env_int("SPEECH_BEAM_SIZE", defaults.beam_size, minimum=1, maximum=10),
        queue_size=env_int("SPEECH_QUEUE_SIZE", defaults.queue_size, minimum=1),
        timeout_s=env_float("SPEECH_TIMEOUT", defaults.timeout_s, minimum=0.1),
        max_seconds=env_float("SPEECH_MAX_SECONDS", defaults.max_seconds, minimum=1.0),
        max_body_bytes=env_int("SPEECH_MAX_BODY_BYTES", defaults.max_body_bytes, minimum=1024),
    )


def check_network_safety(settings: ModelApiSettings) -> None:
    """A model API other machines can reach answers only with MODEL_API_TOKEN."""
    require_token_off_loopback("the model API", settings.host, settings.token, "MODEL_API_TOKEN")
