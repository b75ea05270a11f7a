"""The model API's HTTP face: `create_app(settings)` builds it; chasqui and gunicorn serve it.

Routes: /health (+ /health/live, /health/ready), /chat (the seed contract), /v1/chat/completions
and /v1/models (OpenAI-compatible), /v1/audio/transcriptions (speech to text, transcriptions.py),
/metrics (Prometheus).
"""
from __future__ import annotations

import json
import logging
import os
import threading

import jsonschema
from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chasqui.http_errors import ApiError, bad_request, install_json_errors
from chasqui.http_input import parse_json_body
from chasqui.logs import configure_logging
from chasqui.request_hooks import install_request_hooks
from model_api import openai_format
from model_api.engine import ContextTooLong, Engine, GenerationRequest, GenerationResult
from model_api.grammar_sampler import GrammarError
from model_api.metrics import ModelApiMetrics
from model_api.model_files import expected_sha256, verify_model_file
from model_api.prefix_states import PrefixStateCollector
from model_api.request_parsing import parse_chat, parse_completion
from model_api.request_queue import Job, JobStopped, QueueFull, RequestQueue
from model_api.settings import ModelApiSettings, load_settings
from model_api.speech_service import SpeechService
from model_api.transcriptions import install_transcriptions
from model_api.warm_up import warm_up

log = logging.getLogger("model_api")

OPEN_PATHS = ("/health",)  # probes need no token


class ModelService:
    """The loaded model and its worker; loading happens in the background so /health can say so."""

    def __init__(self, settings: ModelApiSettings, exit_on_load_failure: bool):
        self.settings = settings
        self.engine = Engine(settings)
        self.queue = RequestQueue(self._generate, settings.queue_size)
        self.state = "loading"
        self.error: str | None = None
        self._exit_on_load_failure = exit_on_load_failure
        self.metrics = ModelApiMetrics(queue_depth=self.queue.depth, ready=lambda: self.state == "ready")
        self.metrics.registry.register(PrefixStateCollector(self.engine.prefix_states))

    def start(self) -> None:
        threading.Thread(target=self._load, name="model-loader", daemon=True).start()

    def _generate(self, job: Job) -> GenerationResult:
        """In the worker: one generation, its text streamed to the job as it comes."""
        return self.engine.generate(job.request, on_text=lambda t: job.events.put(("text", t)), check=job.check)

    def _load(self) -> None:
        try:
            self.engine.load()
            if self.settings.warm_up:
                warm_up(self.engine)
            self.queue.start()
            self.state = "ready"
            log.info("model ready", extra={"model": self.settings.model_name})
        except Exception as problem:
            self.state, self.error = "failed", f"{type(problem).__name__}: {problem}"
            log.error("model failed to load", extra={"model": self.settings.model_name, "error": self.error})
            if self._exit_on_load_failure:
                os._exit(3)  # gunicorn treats exit code 3 as "worker failed to boot" and stops

    def require_ready(self) -> None:
        if self.state == "loading":
            raise ApiError(503, "model_loading", "the model is still loading; retry shortly", retry_after=5)
        if self.state == "failed":
            raise ApiError(503, "model_failed", f"the model could not be loaded: {self.error}")

    def check_fits(self, generation: GenerationRequest) -> None:
        """Refuse an oversized prompt at once, without taking a place in the queue; the tokens are
        kept so the worker does not render and tokenize the prompt again."""
        generation.prompt = self.engine.prompt_tokens(generation.messages)
        if len(generation.prompt) + generation.max_tokens > self.settings.n_ctx:
            raise _translate(ContextTooLong(len(generation.prompt), generation.max_tokens, self.settings.n_ctx))

    def submit(self, generation: GenerationRequest) -> Job:
        self.require_ready()
        self.check_fits(generation)
        try:
            return self.queue.submit(generation, self.settings.request_timeout_s)
        except QueueFull as full:
            raise ApiError(503, "queue_full", str(full), retry_after=full.retry_after_s) from None

    def next_event(self, job: Job) -> tuple[str, object]:
        """The job's next event; errors come back as ApiError."""
        kind, value = job.next_event()
        if kind == "error":
            raise _translate(value)
        return kind, value

    def result_of(self, job: Job) -> GenerationResult:
        while True:
            kind, value = self.next_event(job)
            if kind == "done":
                self.metrics.record_generation(value)
                return value


def _translate(problem: Exception) -> ApiError:
    if isinstance(problem, ApiError):
        return problem
    if isinstance(problem, ContextTooLong):
        return ApiError(413, "context_length_exceeded", str(problem))
    if isinstance(problem, JobStopped):
        if problem.reason == "timeout":
            return ApiError(504, "timeout", "the request exceeded its time limit (MODEL_API_REQUEST_TIMEOUT)")
        return ApiError(499, "cancelled", "the client went away")
    if isinstance(problem, GrammarError):  # found by the worker: the converter wrote a grammar llama.cpp refuses
        return bad_request(f"the schema cannot be used while generating: {problem}", "schema", code="invalid_schema")
    log.error("generation failed", exc_info=problem)
    return ApiError(500, "generation_failed", f"the model failed: {type(problem).__name__}")


def timings_of(result: GenerationResult, job: Job) -> dict:
    queued_ms = ((job.started_at or job.enqueued_at) - job.enqueued_at) * 1000
    return {
        "queued_ms": round(queued_ms, 1),
        "prompt_ms": round(result.prompt_ms, 1),
        "generation_ms": round(result.generation_ms, 1),
        "prompt_tokens_per_second": round(result.prompt_tokens_per_second, 2),
        "generation_tokens_per_second": round(result.generation_tokens_per_second, 2),
        "grammar_full_vocabulary_passes": result.full_vocabulary_passes,
    }


def create_app(settings: ModelApiSettings | None = None, *, exit_on_load_failure: bool = False) -> Flask:
    """Verify the model file (refusing to start if it is missing or corrupt), then load it in
    the background and serve. Raises ModelFileError before anything listens."""
    configure_logging("model_api")
    settings = settings or load_settings()
    verify_model_file(settings.model_path, expected_sha256(settings.model_path, settings.model_sha256),
                      settings.model_size_bytes)
    service = ModelService(settings, exit_on_load_failure)
    speech = SpeechService(settings.speech, service.metrics.registry)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["chasqui_model_service"] = service
    app.extensions["chasqui_speech_service"] = speech

    def record(endpoint: str, status: int, seconds: float) -> None:
        service.metrics.requests.labels(endpoint, str(status)).inc()
        service.metrics.latency.labels(endpoint).observe(seconds)

    install_request_hooks(app, settings.token, "MODEL_API_TOKEN", OPEN_PATHS, record, log)
    install_json_errors(app, "MODEL_API_MAX_BODY_BYTES")
    install_transcriptions(app, speech)

    def health_body() -> dict:
        return {
            "live": True,
            "ready": service.state == "ready",
            "status": service.state,
            "model": settings.model_name,
            "quantization": settings.quantization,
            "context_size": settings.n_ctx,
            "threads": settings.n_threads,
            "queue_depth": service.queue.depth(),
            **({"error": service.error} if service.error else {}),
            "speech": speech.health(),  # readiness stays the LLM's: chat works without speech
        }

    @app.get("/health")
    def health():
        return jsonify(health_body()), 200 if service.state == "ready" else 503

    @app.get("/health/live")
    def health_live():
        return jsonify({"live": True, "status": service.state})

    @app.get("/health/ready")
    def health_ready():
        return health()

    @app.post("/chat")
    def chat():
        parsed = parse_chat(parse_json_body(), settings.max_tokens_limit)
        job = service.submit(parsed.generation)
        result = service.result_of(job)
        try:
            content = json.loads(result.text)
        except json.JSONDecodeError:
            if result.finish_reason == "length":
                raise ApiError(422, "output_truncated",
                               f"the answer did not fit in max_tokens={parsed.generation.max_tokens}; raise it") from None
            raise ApiError(500, "output_invalid", "the model's output is not valid JSON") from None
        try:
            jsonschema.validate(content, parsed.schema)
        except jsonschema.ValidationError as problem:
            if parsed.schema_from_client:  # a part of the caller's schema the grammar could not hold the model to
                raise ApiError(422, "output_invalid", f"the model's output does not fit the schema: {problem.message} "
                               "(that part of the schema is not enforced while generating; state it with "
                               "properties, enum or const)", "schema") from None
            raise ApiError(500, "output_invalid", f"the model's output does not fit the schema: {problem.message}") from None
        return jsonify({
            "content": result.text,
            "model": settings.model_name,
            "finish_reason": result.finish_reason,
            "usage": openai_format.usage(result),
            "timings": timings_of(result, job),
        })

    @app.get("/v1/models")
    def models():
        return jsonify(openai_format.model_list(settings.model_name))

    @app.post("/v1/chat/completions")
    def chat_completions():
        parsed = parse_completion(parse_json_body(), settings.max_tokens_limit)
        job = service.submit(parsed.generation)
        if not parsed.stream:
            result = service.result_of(job)
            return jsonify(openai_format.completion(settings.model_name, result, timings_of(result, job)))
        first = service.next_event(job)  # errors before the first token still get a proper status
        return Response(
            openai_format.stream(settings.model_name, first, lambda: service.next_event(job), job,
                                 parsed.include_usage, service.metrics.record_generation),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(service.metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    service.start()
    speech.start()
    return app
