"""The speech model and its own worker, beside the LLM's: it loads in the background, and when it
is off, missing or broken the model API still serves chat; transcriptions then get 503
`speech_unavailable` with the reason.

States (in /health's "speech"): disabled (SPEECH_MODEL=none), loading, ready, missing (not
installed: the error says what to run), failed (a file fails its checksum, or loading failed).
"""
from __future__ import annotations

import logging
import threading

from chasqui.http_errors import ApiError
from model_api.metrics import SpeechMetrics
from model_api.request_queue import Job, JobStopped, QueueFull, RequestQueue
from model_api.settings import SpeechSettings
from model_api.speech import SpeechEngine, Transcription, TranscriptionRequest
from model_api.speech_files import SpeechModelMissing, verify_speech_model

log = logging.getLogger("model_api")


class SpeechService:
    def __init__(self, settings: SpeechSettings, metrics_registry):
        self.settings = settings
        self.engine = SpeechEngine(settings)
        self.queue = RequestQueue(lambda job: self.engine.transcribe(job.request, job.check), settings.queue_size,
                                  name="speech-worker", what="speech to text")
        self.state = "loading" if settings.enabled else "disabled"
        self.error: str | None = None
        self.metrics = SpeechMetrics(metrics_registry, self.queue.depth, lambda: self.state == "ready")

    def start(self) -> None:
        if self.state == "loading":
            threading.Thread(target=self._load, name="speech-loader", daemon=True).start()

    def _load(self) -> None:
        s = self.settings
        try:
            verify_speech_model(s.model_dir, s.catalog_model)
            self.engine.load()
            self.queue.start()
            self.state = "ready"
            log.info("speech ready", extra={"model": s.model_name})
        except SpeechModelMissing as missing:
            self.state, self.error = "missing", str(missing)
            log.warning("speech model not installed; speech is off", extra={"error": self.error})
        except Exception as problem:  # a bad checksum, or CTranslate2 refusing the files: chat goes on
            self.state, self.error = "failed", f"{type(problem).__name__}: {problem}"
            log.error("speech model failed to load", extra={"model": s.model_name, "error": self.error})

    def health(self) -> dict:
        s = self.settings
        return {"status": self.state, "model": s.model_name, "language": s.language, "threads": s.threads,
                "queue_depth": self.queue.depth(), **({"error": self.error} if self.error else {})}

    def require_ready(self) -> None:
        if self.state == "ready":
            return
        reasons = {"loading": "the speech model is still loading; retry shortly",
                   "disabled": "speech to text is off (SPEECH_MODEL=none)"}
        message = reasons.get(self.state) or f"speech to text is unavailable: {self.error}"
        raise ApiError(503, "speech_unavailable", message, retry_after=5 if self.state == "loading" else None)

    def submit(self, request: TranscriptionRequest) -> Job:
        self.require_ready()
        try:
            return self.queue.submit(request, self.settings.timeout_s)
        except QueueFull as full:
            raise ApiError(503, "queue_full", str(full), retry_after=full.retry_after_s) from None

    def result_of(self, job: Job) -> Transcription:
        kind, value = job.next_event()
        if kind == "error":
            raise _translate(value)
        self.metrics.record(value)
        return value


def _translate(problem: Exception) -> ApiError:
    if isinstance(problem, JobStopped):
        if problem.reason == "timeout":
            return ApiError(504, "timeout", "the transcription exceeded its time limit (SPEECH_TIMEOUT)")
        return ApiError(499, "cancelled", "the client went away")
    log.error("transcription failed", exc_info=problem)
    return ApiError(500, "transcription_failed", f"speech to text failed: {type(problem).__name__}")
