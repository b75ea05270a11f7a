"""The model API's settings, all from environment variables (documented in .env.example)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from chasqui.env import chasqui_home, env_float, env_int, env_str
from chasqui.network import require_token_off_loopback
from model_api.catalog import DEFAULT_MODEL, lookup


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
    )


def check_network_safety(settings: ModelApiSettings) -> None:
    """A model API other machines can reach answers only with MODEL_API_TOKEN."""
    require_token_off_loopback("the model API", settings.host, settings.token, "MODEL_API_TOKEN")
