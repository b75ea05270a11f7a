"""Prometheus metrics of one model API process: requests, queue depth, tokens and speed."""
from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from model_api.engine import GenerationResult

SPEED_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500)


class ModelApiMetrics:
    def __init__(self, queue_depth: Callable[[], int], ready: Callable[[], bool]):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("chasqui_model_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("chasqui_model_request_seconds", "Time to answer a request",
                                 ["endpoint"], registry=r,
                                 buckets=(0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120))
        self.prompt_tokens = Counter("chasqui_model_prompt_tokens", "Prompt tokens, cached or evaluated", registry=r)
        self.cached_prompt_tokens = Counter("chasqui_model_cached_prompt_tokens",
                                            "Prompt tokens reused from the previous request's cache", registry=r)
        self.completion_tokens = Counter("chasqui_model_completion_tokens", "Generated tokens", registry=r)
        self.prompt_speed = Histogram("chasqui_model_prompt_tokens_per_second", "Prompt evaluation speed",
                                      registry=r, buckets=SPEED_BUCKETS)
        self.generation_speed = Histogram("chasqui_model_generation_tokens_per_second", "Generation speed",
                                          registry=r, buckets=SPEED_BUCKETS)
        self.grammar_full_passes = Counter("chasqui_model_grammar_full_vocabulary_passes",
                                           "Times the grammar had to filter the whole vocabulary", registry=r)
        Gauge("chasqui_model_queue_depth", "Requests waiting or being computed", registry=r).set_function(queue_depth)
        Gauge("chasqui_model_ready", "1 when the model is loaded and warm", registry=r).set_function(
            lambda: 1.0 if ready() else 0.0)

    def record_generation(self, result: GenerationResult) -> None:
        self.prompt_tokens.inc(result.prompt_tokens)
        self.cached_prompt_tokens.inc(result.cached_prompt_tokens)
        self.completion_tokens.inc(result.completion_tokens)
        self.grammar_full_passes.inc(result.full_vocabulary_passes)
        if result.prompt_tokens > result.cached_prompt_tokens:
            self.prompt_speed.observe(result.prompt_tokens_per_second)
        if result.completion_tokens:
            self.generation_speed.observe(result.generation_tokens_per_second)


class SpeechMetrics:
    """Speech to text, on the same registry: outcomes, audio transcribed, time and real-time factor."""

    def __init__(self, registry: CollectorRegistry, queue_depth: Callable[[], int], ready: Callable[[], bool]):
        r = registry
        self.requests = Counter("chasqui_speech_requests", "Transcription requests by outcome (ok or the error code)",
                                ["outcome"], registry=r)
        self.audio_seconds = Counter("chasqui_speech_audio_seconds", "Seconds of audio transcribed", registry=r)
        self.transcription_seconds = Histogram("chasqui_speech_transcription_seconds",
                                               "Time Whisper took for one note (decoding and waiting excluded)",
                                               registry=r, buckets=(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60))
        self.real_time_factor = Histogram("chasqui_speech_real_time_factor",
                                          "Transcription time over audio duration (below 1: faster than real time)",
                                          registry=r, buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2))
        self.dropped_segments = Counter("chasqui_speech_dropped_segments",
                                        "Segments dropped as Whisper's lines over silence", registry=r)
        Gauge("chasqui_speech_queue_depth", "Transcriptions waiting or being computed", registry=r).set_function(
            queue_depth)
        Gauge("chasqui_speech_ready", "1 when the speech model is loaded", registry=r).set_function(
            lambda: 1.0 if ready() else 0.0)

    def record(self, transcription) -> None:
        self.requests.labels("ok").inc()
        self.audio_seconds.inc(transcription.duration)
        self.transcription_seconds.observe(transcription.transcribe_ms / 1000)
        self.real_time_factor.observe(transcription.real_time_factor)
        self.dropped_segments.inc(len(transcription.dropped))
