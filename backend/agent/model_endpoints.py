"""Which model servers the backend talks to, read from the settings.

`MODEL_API_URL`, `SECONDARY_MODEL_API_URL` and `CLASSIFY_MODEL_API_URL` each take one or more
comma-separated URLs. A URL ending in `/v1` is an OpenAI chat-completions server (llama.cpp's
`llama-server`, vLLM, Ollama, a hosted service, or Chasqui's own model API at `…/v1`); any other
is Chasqui's seed `/chat`. A fragment may state what discovery would otherwise find out:
`http://gpu1:8000/v1#slots=16&engine=vllm&model=Qwen/Qwen2.5-7B-Instruct`. Tokens go in the
matching `…_TOKEN` setting, one for all URLs or one per URL in the same order, never in the URL
(URLs end up in logs and metrics)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from chasqui.env import SettingError

OPENAI, CHASQUI = "openai", "chasqui"
ENGINES = ("chasqui", "llama.cpp", "llama-cpp-python", "vllm", "vllm-guided", "ollama", "openai", "other")
MAX_SLOTS = 256


class EndpointSettingError(SettingError):
    """A model URL setting that cannot be used; the message names the setting and the fix."""


@dataclass(frozen=True)
class EndpointSpec:
    url: str  # without the fragment, no trailing slash
    tier: str  # "model", "secondary" or "classify": the quota and the reply's source
    token: str = ""
    slots: int | None = None  # requests at once; None = find out (llama.cpp's /props) or the protocol's default
    engine: str | None = None  # None = find out from /v1/models
    model: str | None = None  # the `model` field; None = the first one /v1/models lists

    @property
    def protocol(self) -> str:
        return OPENAI if self.url.endswith("/v1") else CHASQUI

    @property
    def name(self) -> str:
        """host:port/path, for logs and metrics labels."""
        parts = urlsplit(self.url)
        return f"{parts.netloc.rpartition('@')[2]}{parts.path}"


def parse_endpoints(urls: str, tokens: str, tier: str, setting: str) -> list[EndpointSpec]:
    """The endpoints one URL setting names (none for an empty setting)."""
    listed = [url.strip() for url in urls.split(",") if url.strip()]
    token_list = [token.strip() for token in tokens.split(",")] if tokens.strip() else []
    if len(token_list) not in (0, 1, len(listed)):
        raise EndpointSettingError(f"{setting} lists {len(listed)} URLs but its token setting {len(token_list)} "
                                   "tokens: give one token for all, or one per URL in the same order")
    specs = []
    for index, raw in enumerate(listed):
        token = token_list[index] if len(token_list) > 1 else (token_list[0] if token_list else "")
        specs.append(_one(raw, token, tier, setting))
    return specs


def _one(raw: str, token: str, tier: str, setting: str) -> EndpointSpec:
    base, _, fragment = raw.partition("#")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointSettingError(f"{setting}: {base!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise EndpointSettingError(f"{setting}: put the token in the token setting, not in the URL")
    options = {key: values[-1] for key, values in parse_qs(fragment, keep_blank_values=True).items()}
    unknown = set(options) - {"slots", "engine", "model"}
    if unknown:
        raise EndpointSettingError(f"{setting}: unknown option {sorted(unknown)[0]!r} after '#' "
                                   "(slots, engine and model are understood)")
    slots = None
    if "slots" in options:
        if not options["slots"].isdigit() or not 1 <= int(options["slots"]) <= MAX_SLOTS:
            raise EndpointSettingError(f"{setting}: slots must be a whole number from 1 to {MAX_SLOTS}")
        slots = int(options["slots"])
    engine = options.get("engine") or None
    if engine is not None and engine not in ENGINES:
        raise EndpointSettingError(f"{setting}: engine must be one of {', '.join(ENGINES)}")
    return EndpointSpec(url=base.rstrip("/"), tier=tier, token=token, slots=slots, engine=engine,
                        model=options.get("model") or None)
