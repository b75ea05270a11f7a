"""Calls to a speech-to-text server in the OpenAI shape (`POST …/v1/audio/transcriptions`): the
model API's own faster-whisper, or any OpenAI-compatible speech server (faster-whisper-server,
vLLM) set in SPEECH_API_URL. A note the engine cannot read comes back as `Heard.problem`, which
the user is told about; an engine that is down, busy or slow raises SpeechUnavailable, and the
bridge keeps the note and sends it again later."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests

from backend.agent.circuit_breaker import CircuitBreaker

log = logging.getLogger(__name__)

# The engine's word for audio it cannot hear, whatever the HTTP status it comes with.
UNREADABLE = frozenset({"empty_audio", "unsupported_audio", "invalid_audio", "audio_too_long"})


class SpeechUnavailable(RuntimeError):
    def __init__(self, reason: str, retry_after_s: float = 30.0):
        super().__init__(reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Heard:
    text: str  # "" when no words were heard
    problem: str | None = None  # one of UNREADABLE
    seconds: float | None = None  # the note's length
    elapsed_ms: float = 0.0


def transcriptions_url(base: str) -> str:
    """`http://host:8001` (Chasqui's model API) or an OpenAI-style `…/v1` base."""
    base = base.rstrip("/")
    return f"{base}/audio/transcriptions" if base.endswith("/v1") else f"{base}/v1/audio/transcriptions"


class SpeechClient:
    def __init__(self, url: str, token: str, timeout_s: float, language: str, model: str,
                 breaker: CircuitBreaker):
        self.url = transcriptions_url(url)
        self.timeout_s, self.language, self.model = timeout_s, language, model
        self.breaker = breaker
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = requests.Session()

    def transcribe(self, audio: bytes, mime_type: str, prompt: str = "") -> Heard:
        if not self.breaker.allows():
            raise SpeechUnavailable("the speech engine failed several times; circuit open")
        started = time.perf_counter()
        fields = {"model": self.model, "language": self.language, "response_format": "verbose_json"}
        if prompt:
            fields["prompt"] = prompt
        try:
            response = self._session.post(self.url, headers=self._headers, data=fields, timeout=self.timeout_s,
                                          files={"file": ("voice" + _extension(mime_type), audio, mime_type)})
        except requests.RequestException as problem:
            self.breaker.record(False)
            raise SpeechUnavailable(f"speech engine unreachable: {type(problem).__name__}") from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        code = _error_code(response)
        if response.status_code == 200:
            self.breaker.record(True)
            return _heard(response, elapsed_ms)
        if code in UNREADABLE:  # the engine works; this note is the trouble
            self.breaker.record(True)
            return Heard("", problem=code, elapsed_ms=elapsed_ms)
        if response.status_code in (429, 503):  # busy or still loading: not a fault of the engine
            raise SpeechUnavailable(f"speech engine busy: HTTP {response.status_code}",
                                    _retry_after(response))
        self.breaker.record(False)
        log.warning("speech engine failed", extra={"status": response.status_code, "error": response.text[:200]})
        raise SpeechUnavailable(f"speech engine answered HTTP {response.status_code} ({code or 'no code'})")


def _heard(response: requests.Response, elapsed_ms: float) -> Heard:
    try:
        body = response.json()
        text = body["text"]
        seconds = body.get("duration")
    except (ValueError, KeyError, TypeError):
        raise SpeechUnavailable("the speech engine's answer has no text") from None
    if not isinstance(text, str):
        raise SpeechUnavailable("the speech engine's text is not a string")
    return Heard(" ".join(text.split()), seconds=float(seconds) if isinstance(seconds, int | float) else None,
                 elapsed_ms=elapsed_ms)


def _error_code(response: requests.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), str) else None


def _retry_after(response: requests.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", 30)))
    except ValueError:
        return 30.0


def _extension(mime_type: str) -> str:
    """A file name the engine can guess the format from (PyAV also sniffs the bytes)."""
    kind = mime_type.split(";")[0].strip().lower()
    return {"audio/ogg": ".ogg", "audio/opus": ".ogg", "application/ogg": ".ogg", "audio/mpeg": ".mp3",
            "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/amr": ".amr", "audio/webm": ".webm",
            "audio/wav": ".wav", "audio/x-wav": ".wav"}.get(kind, "")
