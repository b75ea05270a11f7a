"""POST /v1/audio/transcriptions: OpenAI's speech-to-text route, served by faster-whisper.

The body may be up to SPEECH_MAX_BODY_BYTES (25 MB, OpenAI's limit), this route only: the JSON
routes keep MODEL_API_MAX_BODY_BYTES. The upload is decoded in the request's own thread, so a
bad file is refused before it takes a place in the speech queue; only Whisper runs in the worker.
"""
from __future__ import annotations

from flask import Flask, request

from chasqui.http_errors import ApiError
from model_api import transcription_format
from model_api.audio_decoding import AudioTooLong, EmptyAudio, InvalidAudio, UnsupportedAudio, decode_audio
from model_api.speech import TranscriptionRequest
from model_api.speech_service import SpeechService
from model_api.transcription_parsing import parse_transcription

PATH = "/v1/audio/transcriptions"
AUDIO_ERRORS = {EmptyAudio: (400, "empty_audio"), UnsupportedAudio: (415, "unsupported_audio"),
                InvalidAudio: (400, "invalid_audio"), AudioTooLong: (413, "audio_too_long")}


def install_transcriptions(app: Flask, speech: SpeechService) -> None:
    settings = speech.settings

    @app.before_request
    def allow_audio_uploads():  # runs after the token check (install_request_hooks came first)
        if request.path == PATH:
            request.max_content_length = settings.max_body_bytes

    @app.post(PATH)
    def transcriptions():
        try:
            return _transcribe(speech)
        except ApiError as error:
            speech.metrics.requests.labels(error.code).inc()
            raise


def _transcribe(speech: SpeechService):
    settings = speech.settings
    parsed = parse_transcription(settings.language, settings.max_body_bytes)
    speech.require_ready()
    try:
        audio = decode_audio(parsed.audio, settings.max_seconds)
    except tuple(AUDIO_ERRORS) as problem:
        status, code = AUDIO_ERRORS[type(problem)]
        raise ApiError(status, code, str(problem), "file") from None
    job = speech.submit(TranscriptionRequest(audio, parsed.language, parsed.prompt, parsed.temperature, parsed.words))
    result = speech.result_of(job)
    timings = {"decode_ms": round(audio.decode_ms, 1), "queued_ms": round(job.queued_ms, 1),
               "transcribe_ms": round(result.transcribe_ms, 1), "real_time_factor": round(result.real_time_factor, 3)}
    return transcription_format.response(result, parsed.response_format, parsed.words, timings, settings.model_name)
